package signature

import "errors"

// Errors returned by the verifiers, the key and secret parsers, and Open.
// Functions wrap them with detail; test for them with errors.Is.
var (
	// ErrInvalidSecret means a signing secret is empty or not in the
	// format its scheme requires.
	ErrInvalidSecret = errors.New("signature: invalid secret")

	// ErrMissingHeader means a header the scheme requires is absent or
	// empty.
	ErrMissingHeader = errors.New("signature: missing header")

	// ErrMalformedHeader means a signature header is present but cannot be
	// parsed.
	ErrMalformedHeader = errors.New("signature: malformed header")

	// ErrNoMatchingSignature means the headers are well formed but no
	// signature in them matches the body under the given secret or key:
	// the body was altered, or the secret or key is not the signer's.
	ErrNoMatchingSignature = errors.New("signature: no matching signature")

	// ErrTimestampTooOld means the signature is authentic but its timestamp
	// is further in the past than the tolerance allows (a late delivery or
	// a replay).
	ErrTimestampTooOld = errors.New("signature: timestamp too old")

	// ErrTimestampTooNew means the signature is authentic but its
	// timestamp is further in the future than the tolerance allows (the
	// sender's or the receiver's clock is wrong).
	ErrTimestampTooNew = errors.New("signature: timestamp too new")

	// ErrInvalidKey means an RSA key is missing, too small, too large, of
	// another algorithm, or not in a supported PEM encoding.
	ErrInvalidKey = errors.New("signature: invalid key")

	// ErrInvalidMasterKey means a master key given to Seal, Open or
	// NewSealer is shorter than MinMasterKeyLen.
	ErrInvalidMasterKey = errors.New("signature: invalid master key")

	// ErrMalformedSealed means a string given to Open is not a sealed value
	// of a version this package knows.
	ErrMalformedSealed = errors.New("signature: malformed sealed value")

	// ErrSealedAuth means a sealed value failed authentication: it was
	// sealed under another master key, or it was altered.
	ErrSealedAuth = errors.New("signature: sealed value failed authentication")
)
