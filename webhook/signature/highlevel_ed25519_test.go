package signature

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"testing"
)

func TestHighLevelEd25519(t *testing.T) {
	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"OrderCreate","locationId":"acct_1","amount":150.1}`)
	sig, err := SignHighLevelEd25519(key, body)
	if err != nil {
		t.Fatal(err)
	}
	// A receiver's check, with the standard library alone.
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || !ed25519.Verify(pub, body, raw) {
		t.Fatalf("the standard library does not verify %q: %v", sig, err)
	}
	if err := VerifyHighLevelEd25519(pub, sig, body); err != nil {
		t.Fatal(err)
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] = '2'
	if err := VerifyHighLevelEd25519(pub, sig, tampered); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("tampered body: %v", err)
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := VerifyHighLevelEd25519(other, sig, body); !errors.Is(err, ErrNoMatchingSignature) {
		t.Fatalf("other key: %v", err)
	}
	for _, bad := range []string{"", "!!!", base64.StdEncoding.EncodeToString([]byte("short"))} {
		if err := VerifyHighLevelEd25519(pub, bad, body); err == nil {
			t.Errorf("signature %q verified", bad)
		}
	}
	if _, err := SignHighLevelEd25519(key[:10], body); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("short key: %v", err)
	}

	// The served PEM loads as a PKIX Ed25519 key equal to pub.
	p, err := MarshalEd25519PublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(p)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("PEM: %s", p)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := k.(ed25519.PublicKey); !ok || !got.Equal(pub) {
		t.Fatalf("PEM holds %T, not the key", k)
	}
}
