package signature

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// Constants of sealed values.
const (
	// MinMasterKeyLen is the shortest master key Seal and Open accept: 32
	// bytes, as long as tender's installation master secret.
	MinMasterKeyLen = 32

	// sealPrefix starts every value sealed by this version of the format:
	// "v1." then the unpadded URL-safe base64 of a 12-byte random nonce,
	// the AES-256-GCM ciphertext and its 16-byte tag.
	sealPrefix = "v1."

	// sealInfo is the HKDF info string: it ties the derived key to this
	// purpose and format version, so no other use of the master key yields
	// the same AES key.
	sealInfo = "tender webhook/signature sealed secret v1 AES-256-GCM"
)

// Sealer encrypts and decrypts secrets at rest (webhook signing secrets,
// the HighLevel private key's PEM) under a key derived from the
// installation's master key. Derive it once and reuse it: it is safe for
// concurrent use. One master key must not seal more than 2^32 values (the
// limit of random 96-bit GCM nonces), far beyond any count of endpoints.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer derives the sealing key from masterKey (at least
// MinMasterKeyLen bytes) with HKDF-SHA256 and returns a Sealer using it.
// Errors wrap ErrInvalidMasterKey.
func NewSealer(masterKey []byte) (*Sealer, error) {
	if len(masterKey) < MinMasterKeyLen {
		return nil, fmt.Errorf("%w: %d bytes, want at least %d", ErrInvalidMasterKey, len(masterKey), MinMasterKeyLen)
	}
	key, err := hkdf.Key(sha256.New, masterKey, nil, sealInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("signature: derive sealing key: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("signature: sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("signature: sealing cipher: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext with AES-256-GCM under a fresh random nonce and
// returns "v1." followed by the unpadded URL-safe base64 of nonce,
// ciphertext and tag. Sealing the same plaintext twice gives different
// strings. The result is ASCII, safe in a TEXT column or JSON.
func (s *Sealer) Seal(plaintext []byte) (string, error) {
	out := s.aead.Seal(nil, nil, plaintext, []byte(sealPrefix))
	return sealPrefix + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value made by Seal under the same master key. Errors wrap
// ErrMalformedSealed (not "v1." and base64 of at least a nonce and a tag)
// or ErrSealedAuth (another master key, or altered data); Open never
// returns unauthenticated plaintext.
func (s *Sealer) Open(sealed string) ([]byte, error) {
	enc, ok := strings.CutPrefix(sealed, sealPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: does not start with %q", ErrMalformedSealed, sealPrefix)
	}
	// Strict decoding and no line breaks (which base64 decoders skip)
	// leave one encoding per value.
	raw, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || strings.ContainsAny(enc, "\r\n") {
		return nil, fmt.Errorf("%w: not unpadded URL-safe base64", ErrMalformedSealed)
	}
	if len(raw) < s.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes, shorter than nonce and tag", ErrMalformedSealed, len(raw))
	}
	plain, err := s.aead.Open(nil, nil, raw, []byte(sealPrefix))
	if err != nil {
		return nil, ErrSealedAuth
	}
	return plain, nil
}

// Seal encrypts plaintext under a key derived from masterKey; see
// Sealer.Seal for the format. It derives the key on every call: code that
// seals or opens often should keep a Sealer from NewSealer.
func Seal(masterKey []byte, plaintext []byte) (string, error) {
	s, err := NewSealer(masterKey)
	if err != nil {
		return "", err
	}
	return s.Seal(plaintext)
}

// Open decrypts a value made by Seal under the same masterKey; see
// Sealer.Open for the errors.
func Open(masterKey []byte, sealed string) ([]byte, error) {
	s, err := NewSealer(masterKey)
	if err != nil {
		return nil, err
	}
	return s.Open(sealed)
}
