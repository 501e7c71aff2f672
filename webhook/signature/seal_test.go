package signature

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
)

var (
	testMaster  = []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	otherMaster = []byte("fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210")
)

func TestSeal_RoundTrip(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	for _, plain := range [][]byte{[]byte(secret), {}, bytes.Repeat([]byte{0, 0xff}, 5000)} {
		sealed, err := Seal(testMaster, plain)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(sealed, "v1.") {
			t.Fatalf("sealed value %q lacks the v1. prefix", sealed)
		}
		if len(plain) > 8 && strings.Contains(sealed, string(plain[:8])) {
			t.Fatal("sealed value shows the plaintext")
		}
		got, err := Open(testMaster, sealed)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if !bytes.Equal(got, plain) {
			t.Fatalf("Open = %q, want %q", got, plain)
		}
		again, _ := Seal(testMaster, plain)
		if again == sealed {
			t.Fatal("sealing twice gave the same string: nonce not random")
		}
	}
}

// TestSeal_Construction opens a sealed value with a key derived by hand
// from the documented construction: HKDF-SHA256 (no salt, the package's
// info string), AES-256-GCM, "v1." and unpadded URL-safe base64 of nonce,
// ciphertext and tag, the prefix as associated data.
func TestSeal_Construction(t *testing.T) {
	t.Parallel()
	sealed, err := Seal(testMaster, []byte("whsec_hello"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := hkdf.Key(sha256.New, testMaster, nil, "tender webhook/signature sealed secret v1 AES-256-GCM", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1."))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 12+len("whsec_hello")+16 {
		t.Fatalf("sealed value is %d bytes, want nonce+plaintext+tag", len(raw))
	}
	plain, err := gcm.Open(nil, raw[:12], raw[12:], []byte("v1."))
	if err != nil || string(plain) != "whsec_hello" {
		t.Fatalf("by hand: %q, %v", plain, err)
	}
}

func TestSeal_Tamper(t *testing.T) {
	t.Parallel()
	sealed, err := Seal(testMaster, []byte("fhwh_secret"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(sealed, "v1."))
	for i := range raw {
		flipped := bytes.Clone(raw)
		flipped[i] ^= 0x01
		if _, err := Open(testMaster, "v1."+base64.RawURLEncoding.EncodeToString(flipped)); !errors.Is(err, ErrSealedAuth) {
			t.Fatalf("byte %d flipped: Open = %v, want ErrSealedAuth", i, err)
		}
	}
	for _, tt := range []struct {
		name, sealed string
		want         error
	}{
		{"Truncated", "v1." + base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]), ErrSealedAuth},
		{"Extended", "v1." + base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)), ErrSealedAuth},
		{"TooShort", "v1." + base64.RawURLEncoding.EncodeToString(raw[:27]), ErrMalformedSealed},
		{"Empty", "", ErrMalformedSealed},
		{"NoPayload", "v1.", ErrMalformedSealed},
		{"OtherVersion", "v2." + strings.TrimPrefix(sealed, "v1."), ErrMalformedSealed},
		{"Padded", sealed + "=", ErrMalformedSealed},
		{"LineBreak", sealed[:10] + "\n" + sealed[10:], ErrMalformedSealed},
		{"StdBase64Chars", "v1.+/" + strings.TrimPrefix(sealed, "v1."), ErrMalformedSealed},
		{"Plaintext", "fhwh_secret", ErrMalformedSealed},
	} {
		if _, err := Open(testMaster, tt.sealed); !errors.Is(err, tt.want) {
			t.Errorf("%s: Open = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestSeal_WrongKey(t *testing.T) {
	t.Parallel()
	sealed, err := Seal(testMaster, []byte("whsec_x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(otherMaster, sealed); !errors.Is(err, ErrSealedAuth) {
		t.Fatalf("Open with another master key = %v, want ErrSealedAuth", err)
	}
	// A master key differing in its last byte derives an unrelated key.
	near := bytes.Clone(testMaster)
	near[len(near)-1] ^= 1
	if _, err := Open(near, sealed); !errors.Is(err, ErrSealedAuth) {
		t.Fatalf("Open with a near master key = %v, want ErrSealedAuth", err)
	}
	for _, k := range [][]byte{nil, testMaster[:31]} {
		if _, err := Seal(k, []byte("x")); !errors.Is(err, ErrInvalidMasterKey) {
			t.Errorf("Seal with a %d-byte master key = %v, want ErrInvalidMasterKey", len(k), err)
		}
		if _, err := Open(k, sealed); !errors.Is(err, ErrInvalidMasterKey) {
			t.Errorf("Open with a %d-byte master key = %v, want ErrInvalidMasterKey", len(k), err)
		}
	}
}

func TestSealer_Concurrent(t *testing.T) {
	t.Parallel()
	s, err := NewSealer(testMaster)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Go(func() {
			plain := bytes.Repeat([]byte{byte(i)}, i)
			for range 100 {
				sealed, err := s.Seal(plain)
				if err != nil {
					errs <- err
					return
				}
				got, err := s.Open(sealed)
				if err != nil || !bytes.Equal(got, plain) {
					errs <- errors.Join(errors.New("round trip failed"), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
