package signature

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// HighLevel's current scheme signs with Ed25519; the RSA x-wh-signature is
// its legacy scheme. tender sends both, so receivers written for either
// verify.
const (
	// HighLevelEd25519Header carries the standard base64 of the Ed25519
	// signature of the raw body.
	HighLevelEd25519Header = "x-ghl-signature"

	// HighLevelEd25519PublicKeyPath is where tender serves the PEM ("PUBLIC
	// KEY", PKIX) Ed25519 key that verifies HighLevelEd25519Header.
	HighLevelEd25519PublicKeyPath = "/.well-known/tender/highlevel-webhook-ed25519-public-key.pem"
)

// SignHighLevelEd25519 returns the x-ghl-signature value for body: the
// standard base64 (with padding) of the Ed25519 signature of body. Like the
// RSA scheme it covers the body alone.
func SignHighLevelEd25519(key ed25519.PrivateKey, body []byte) (string, error) {
	if len(key) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("%w: Ed25519 private key of %d bytes", ErrInvalidKey, len(key))
	}
	return base64.StdEncoding.EncodeToString(ed25519.Sign(key, body)), nil
}

// VerifyHighLevelEd25519 checks an x-ghl-signature value against body with
// pub, as a receiver does. Errors wrap ErrInvalidKey, ErrMissingHeader,
// ErrMalformedHeader or ErrNoMatchingSignature.
func VerifyHighLevelEd25519(pub ed25519.PublicKey, sig string, body []byte) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: Ed25519 public key of %d bytes", ErrInvalidKey, len(pub))
	}
	sig = strings.Trim(sig, " \t")
	if sig == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HighLevelEd25519Header)
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(raw) != ed25519.SignatureSize {
		return fmt.Errorf("%w: %s is not standard base64 of a %d-byte signature", ErrMalformedHeader, HighLevelEd25519Header, ed25519.SignatureSize)
	}
	if !ed25519.Verify(pub, body, raw) {
		return fmt.Errorf("%w: %s", ErrNoMatchingSignature, HighLevelEd25519Header)
	}
	return nil
}

// MarshalEd25519PublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block
// (PKIX), the form Node's crypto.createPublicKey and OpenSSL load.
func MarshalEd25519PublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicPKIX, Bytes: der}), nil
}
