package store

import "context"

// InstallationTx holds installation-wide values: written once by whichever
// process needs one first, then the same for every process.
type InstallationTx interface {
	// PutInstallationValue stores value under name unless a value is
	// already there, and returns the stored one (value, or the earlier).
	PutInstallationValue(ctx context.Context, name, value string) (string, error)
	// FindInstallationValue returns ENOTFOUND when name has no value.
	FindInstallationValue(ctx context.Context, name string) (string, error)
}
