package signature

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// Constants of the HighLevel scheme.
const (
	// HighLevelHeader is the header that carries a HighLevel signature: the
	// standard base64 of an RSA PKCS #1 v1.5 SHA-256 signature over the
	// raw request body.
	HighLevelHeader = "x-wh-signature"

	// HighLevelPublicKeyPath is where tender serves the PEM ("PUBLIC KEY",
	// PKIX) public key that verifies its HighLevel signatures, once the
	// HighLevel dialect lands.
	HighLevelPublicKeyPath = "/.well-known/tender/highlevel-webhook-public-key.pem"

	// MinRSABits and MaxRSABits bound the RSA modulus sizes this package
	// generates, parses and signs with.
	MinRSABits = 2048
	MaxRSABits = 8192
)

// PEM block types written and read by the key helpers.
const (
	pemPrivatePKCS8 = "PRIVATE KEY"
	pemPrivatePKCS1 = "RSA PRIVATE KEY"
	pemPublicPKIX   = "PUBLIC KEY"
	pemPublicPKCS1  = "RSA PUBLIC KEY"
)

// GenerateRSAKey returns a new RSA private key of bits bits (MinRSABits to
// MaxRSABits; 3072 is a sound default) for signing HighLevel webhooks. Keep
// it sealed (MarshalPrivateKeyPEM, then Seal) and publish its public half
// (MarshalPublicKeyPEM).
func GenerateRSAKey(bits int) (*rsa.PrivateKey, error) {
	if bits < MinRSABits || bits > MaxRSABits {
		return nil, fmt.Errorf("%w: %d bits, want %d to %d", ErrInvalidKey, bits, MinRSABits, MaxRSABits)
	}
	key, err := rsa.GenerateKey(nil, bits)
	if err != nil {
		return nil, fmt.Errorf("signature: generate RSA key: %w", err)
	}
	return key, nil
}

// MarshalPrivateKeyPEM encodes key as a PEM "PRIVATE KEY" block holding
// PKCS #8 DER. The result is a secret: store it sealed.
func MarshalPrivateKeyPEM(key *rsa.PrivateKey) ([]byte, error) {
	if err := checkRSASize(keyBits(key)); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivatePKCS8, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes an RSA private key from PEM: a "PRIVATE KEY"
// block (PKCS #8, as MarshalPrivateKeyPEM writes) or an "RSA PRIVATE KEY"
// block (PKCS #1). The data must hold that one unencrypted block and
// nothing else but whitespace. Errors wrap ErrInvalidKey.
func ParsePrivateKeyPEM(data []byte) (*rsa.PrivateKey, error) {
	block, err := singlePEMBlock(data)
	if err != nil {
		return nil, err
	}
	var key *rsa.PrivateKey
	switch block.Type {
	case pemPrivatePKCS8:
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: PKCS #8 key is %T, not RSA", ErrInvalidKey, k)
		}
		key = rk
	case pemPrivatePKCS1:
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		key = k
	default:
		return nil, fmt.Errorf("%w: PEM block %q, want %q or %q", ErrInvalidKey, block.Type, pemPrivatePKCS8, pemPrivatePKCS1)
	}
	if err := checkRSASize(key.N.BitLen()); err != nil {
		return nil, err
	}
	return key, nil
}

// MarshalPublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block holding PKIX
// (SubjectPublicKeyInfo) DER, the form receivers load with Node's
// crypto.createPublicKey, OpenSSL or Go's x509.ParsePKIXPublicKey.
func MarshalPublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.N == nil {
		return nil, fmt.Errorf("%w: nil public key", ErrInvalidKey)
	}
	if err := checkRSASize(pub.N.BitLen()); err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicPKIX, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes an RSA public key from PEM: a "PUBLIC KEY"
// block (PKIX, as MarshalPublicKeyPEM writes) or an "RSA PUBLIC KEY" block
// (PKCS #1). The data must hold that one block and nothing else but
// whitespace. Errors wrap ErrInvalidKey.
func ParsePublicKeyPEM(data []byte) (*rsa.PublicKey, error) {
	block, err := singlePEMBlock(data)
	if err != nil {
		return nil, err
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case pemPublicPKIX:
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: PKIX key is %T, not RSA", ErrInvalidKey, k)
		}
		pub = rk
	case pemPublicPKCS1:
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("%w: PEM block %q, want %q or %q", ErrInvalidKey, block.Type, pemPublicPKIX, pemPublicPKCS1)
	}
	if err := checkRSASize(pub.N.BitLen()); err != nil {
		return nil, err
	}
	return pub, nil
}

// SignHighLevel returns the x-wh-signature header value for body: the
// standard base64 (with padding) of the RSA PKCS #1 v1.5 signature of
// SHA-256(body) under key. The signature is deterministic and covers the
// body alone: no timestamp, no id. The caller sends body byte for byte as
// signed.
func SignHighLevel(key *rsa.PrivateKey, body []byte) (string, error) {
	if err := checkRSASize(keyBits(key)); err != nil {
		return "", err
	}
	digest := sha256.Sum256(body)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("signature: sign highlevel webhook: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// VerifyHighLevel checks an x-wh-signature value against body with pub, as
// a receiver does. Surrounding spaces are ignored; the rest must be
// standard base64 of exactly the key's size. Errors wrap ErrInvalidKey (nil
// or out-of-range key), ErrMissingHeader (empty sig), ErrMalformedHeader
// (not base64 of the right length) or ErrNoMatchingSignature.
//
// The scheme signs no timestamp, so it cannot detect a replayed delivery;
// receivers that care deduplicate on the event id in the body.
func VerifyHighLevel(pub *rsa.PublicKey, sig string, body []byte) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: nil public key", ErrInvalidKey)
	}
	if err := checkRSASize(pub.N.BitLen()); err != nil {
		return err
	}
	sig = strings.Trim(sig, " \t")
	if sig == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, HighLevelHeader)
	}
	if len(sig) != base64.StdEncoding.EncodedLen(pub.Size()) {
		return fmt.Errorf("%w: %s is %d characters, want %d for a %d-bit key", ErrMalformedHeader, HighLevelHeader, len(sig), base64.StdEncoding.EncodedLen(pub.Size()), pub.N.BitLen())
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("%w: %s is not standard base64", ErrMalformedHeader, HighLevelHeader)
	}
	digest := sha256.Sum256(body)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw); err != nil {
		return fmt.Errorf("%w: %s", ErrNoMatchingSignature, HighLevelHeader)
	}
	return nil
}

// singlePEMBlock decodes the one PEM block in data, refusing encrypted
// blocks and trailing data.
func singlePEMBlock(data []byte) (*pem.Block, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrInvalidKey)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: PEM block has headers (encrypted keys are not supported)", ErrInvalidKey)
	}
	return block, nil
}

// keyBits returns the modulus size of key, or 0 if key is nil.
func keyBits(key *rsa.PrivateKey) int {
	if key == nil || key.N == nil {
		return 0
	}
	return key.N.BitLen()
}

// checkRSASize reports whether a modulus of bits bits is in range.
func checkRSASize(bits int) error {
	if bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("%w: %d-bit RSA key, want %d to %d bits", ErrInvalidKey, bits, MinRSABits, MaxRSABits)
	}
	return nil
}
