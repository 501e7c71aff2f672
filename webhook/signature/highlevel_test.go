package signature

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// testRSAKeyPEM is a fixed 2048-bit key made for these tests only. It is
// fixed rather than generated so that fuzzing workers share it with the
// process that made the seed corpus, and so that tests start fast.
const testRSAKeyPEM = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCpZ2WSIZr6I0i3
OiPHWI4fuzlwmUnh9YZZaj1tkH+7CYvhSmwCKfshFLM+MNuTDifxuV2QD40OnmU9
g2h94x7gfzuorI1IRQZogOY3+Gp0eeEvi4KZ7DV6yJmbPoBibgnDacg4IzpUFeyw
vtuJc8w6b0ODG/skqKbFuG3jBeTeFikP+B/0QoR3Rgh8gga+BqXX8AAlvkc2eH+m
CDyuHsAcXFMU70q4Lt7SEumJq/DeKwIvVlBcs+iBV98n7l4LmDhnB4D1u3+3zTzu
zlIcd+cHOp1sRaDmWFoiNoiF5oThStE1VDmHZyht+UIzd71e5yroCy0gBcWjQPG4
ywPqwg8VAgMBAAECggEAAaqXYIVIGvx3M1Dfwo7nxv7Lz9m81PuEo3iHZiktDc/y
5PfFxuJW1WUjZjyLdw+FQRF2ZCZjAtPNYc+FxZyS/y5WjeWJ9j4HlBuV0tMfaPSR
9ypuJx7LCown8VOqEPh4IXNMRDvEenNEwsWohITzwKy7g0dRLx526tb87btvHD14
yc5VkfwUiIlz4CTgQfujmhWVaCFl/imOLip6jvWIGz82vQkekLolPqe9J1uEvPRp
3Wz9yRpZspBQF+jhKqMb3/+RdyCLh7tFtHS/45bjgJfAD4BLKCwVTDWMyLQ2Iu2J
+PQg4J/W3JV0ErBSjrH5QFyejYhViI90g5WxesQxwQKBgQDhak+llNUwPgKamQj1
PfwXwfcsL1k/P+Vq/yQnMiDILsCphBcFoDLYNSlD7KYsdNFAkSHWqr31DOzF/KbO
DG0mcBRIMORK8SelPzXLFY6Hx7fo2ZCZUd5NVHQkIa/btKDg37TYSD5z+tKpOGVd
EPm0VphE98jwWBfRsSbipKa97QKBgQDAY47IFB2z0CssqKrxp8rrHjzNdSX5k74Y
u87h0bsYtgTEvA2j7iN7kroR/A+GRnpCFDO6yGjLHdhwLc4mjxNOJktTwrf4kizU
8qiKEbjBq9Hd54v/t7lEjAhq6LdA8gVx3BGMXVGtqdN5a7FAqVDCrdOzrdeLmz93
Pp+8fdSwyQKBgFuFn5r6J+jzdHkyo3l3VlCLF4FgJBtTJSHhP9uONdMxcFYjZHmL
RrmUNBH5Fqs8Lu3JP3T6VDAXtFbasxs73mFZ5lI9T6PB8Dfex0eSlBE7HMe09knZ
/KlnHdTBvLY2y48iJTofcwQCFeBRHo6/4rK+6goulO5IxjsEc2ZYNb8tAoGBALuR
lQg+jILeBunge+Fk3PKEJXWOrHp6b5C/skD58LZz54xDZ+0WZOO6tsyH+j7IgbPg
7FpDv9+f9n/QOLfhMEo2DaTZJ/Ih2bG371fFVWME+HSnphencOqCuEY7I0cfbu2G
SFmYNeThuPsdYtAPA1z6incYmxhSQPsqRCRKbc35AoGATLptbJB0tjdqLAbmOvEx
pKhKedzmEB5VsY94TAJNg3mg0xsRtoN+KYDEPIfq7mQnAu7mAHcK5mpxmzPfIEaC
qOZVpQ4secHcq88L/fkCORzIg43Q/yhOTs9Kh0tyqyoDJZ7wF1oe+M6XmOU/xzUU
hlnuLTwD212tvi/KLjEq+jI=
-----END PRIVATE KEY-----
`

// testRSAKey parses testRSAKeyPEM once.
var testRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return ParsePrivateKeyPEM([]byte(testRSAKeyPEM)) })

func mustRSAKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := testRSAKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// receiverVerify verifies sig over body from a PEM public key using only
// the standard library, as a receiver's own code would.
func receiverVerify(pubPEM []byte, sig string, body []byte) error {
	block, _ := pem.Decode(pubPEM)
	if block == nil || block.Type != "PUBLIC KEY" {
		return errors.New("no PUBLIC KEY block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return errors.New("not an RSA key")
	}
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], raw)
}

func TestHighLevel_ReceiverVerifies(t *testing.T) {
	t.Parallel()
	key := mustRSAKey(t)
	pubPEM, err := MarshalPublicKeyPEM(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
		t.Fatalf("public key PEM starts %q", pubPEM[:30])
	}
	sig, err := SignHighLevel(key, testBody)
	if err != nil {
		t.Fatal(err)
	}
	if err := receiverVerify(pubPEM, sig, testBody); err != nil {
		t.Fatalf("receiver rejects tender's signature: %v", err)
	}
	if err := VerifyHighLevel(&key.PublicKey, sig, testBody); err != nil {
		t.Fatalf("VerifyHighLevel: %v", err)
	}
	// Deterministic: the same body gives the same signature.
	if again, _ := SignHighLevel(key, testBody); again != sig {
		t.Fatal("two signatures of one body differ")
	}

	t.Run("TamperedBody", func(t *testing.T) {
		tampered := []byte(strings.Replace(string(testBody), "1999", "1998", 1))
		if err := receiverVerify(pubPEM, sig, tampered); err == nil {
			t.Fatal("receiver accepts a tampered body")
		}
		if err := VerifyHighLevel(&key.PublicKey, sig, tampered); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("VerifyHighLevel = %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("WrongKey", func(t *testing.T) {
		other, err := GenerateRSAKey(2048)
		if err != nil {
			t.Fatal(err)
		}
		otherPEM, _ := MarshalPublicKeyPEM(&other.PublicKey)
		if err := receiverVerify(otherPEM, sig, testBody); err == nil {
			t.Fatal("receiver accepts a signature under another key")
		}
		if err := VerifyHighLevel(&other.PublicKey, sig, testBody); !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("VerifyHighLevel = %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("BadSignature", func(t *testing.T) {
		raw, _ := base64.StdEncoding.DecodeString(sig)
		raw[len(raw)/2] ^= 1
		flipped := base64.StdEncoding.EncodeToString(raw)
		for _, tt := range []struct {
			sig  string
			want error
		}{
			{"", ErrMissingHeader},
			{"  ", ErrMissingHeader},
			{flipped, ErrNoMatchingSignature},
			{sig[:len(sig)-4], ErrMalformedHeader},
			{strings.Repeat("!", len(sig)), ErrMalformedHeader},
			{base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 256)), ErrMalformedHeader},
		} {
			if err := VerifyHighLevel(&key.PublicKey, tt.sig, testBody); !errors.Is(err, tt.want) {
				t.Errorf("VerifyHighLevel(%.20q…) = %v, want %v", tt.sig, err, tt.want)
			}
		}
		if err := VerifyHighLevel(&key.PublicKey, " "+sig+" ", testBody); err != nil {
			t.Errorf("surrounding spaces: %v", err)
		}
		if err := VerifyHighLevel(nil, sig, testBody); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("nil key: %v, want ErrInvalidKey", err)
		}
	})
}

// TestHighLevel_OpenSSL verifies a signature with the openssl command, an
// implementation independent of Go's.
func TestHighLevel_OpenSSL(t *testing.T) {
	t.Parallel()
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	key := mustRSAKey(t)
	dir := t.TempDir()
	pubPEM, _ := MarshalPublicKeyPEM(&key.PublicKey)
	sig, err := SignHighLevel(key, testBody)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(sig)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pub, sigFile, body := write("pub.pem", pubPEM), write("sig.bin", raw), write("body.json", testBody)
	out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, body).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl rejects tender's signature: %v\n%s", err, out)
	}
	write("body.json", append(append([]byte{}, testBody...), '\n'))
	if out, err := exec.Command(openssl, "dgst", "-sha256", "-verify", pub, "-signature", sigFile, body).CombinedOutput(); err == nil {
		t.Fatalf("openssl accepts a tampered body:\n%s", out)
	}
}

// TestHighLevel_NodeSDKStyle verifies the way HighLevel's Node SDK does:
// crypto.createVerify('sha256') over JSON.stringify of the parsed body,
// with the PEM public key and the base64 signature. It passes only because
// the test body is JSON that JavaScript re-serializes byte for byte.
func TestHighLevel_NodeSDKStyle(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed")
	}
	key := mustRSAKey(t)
	pubPEM, _ := MarshalPublicKeyPEM(&key.PublicKey)
	sig, err := SignHighLevel(key, testBody)
	if err != nil {
		t.Fatal(err)
	}
	const script = `
const crypto = require('crypto');
const raw = Buffer.from(process.env.BODY_B64, 'base64').toString('utf8');
const payload = JSON.stringify(JSON.parse(raw));
const v = crypto.createVerify('sha256');
v.update(payload);
v.end();
process.stdout.write(v.verify(process.env.PUB_PEM, process.env.SIG, 'base64') ? 'valid' : 'invalid');
`
	run := func(body []byte) string {
		cmd := exec.Command(node, "-e", script)
		cmd.Env = append(os.Environ(),
			"BODY_B64="+base64.StdEncoding.EncodeToString(body),
			"PUB_PEM="+string(pubPEM),
			"SIG="+sig)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("node: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := run(testBody); got != "valid" {
		t.Fatalf("node verification = %q, want valid", got)
	}
	if got := run([]byte(strings.Replace(string(testBody), "1999", "1998", 1))); got != "invalid" {
		t.Fatalf("node verification of a tampered body = %q, want invalid", got)
	}
}

func TestRSAKeyPEM_RoundTrip(t *testing.T) {
	t.Parallel()
	key := mustRSAKey(t)
	privPEM, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Fatalf("private key PEM starts %q", privPEM[:30])
	}
	back, err := ParsePrivateKeyPEM(privPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !back.Equal(key) {
		t.Fatal("private key changed in a PEM round trip")
	}
	pubPEM, _ := MarshalPublicKeyPEM(&key.PublicKey)
	pub, err := ParsePublicKeyPEM(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&key.PublicKey) {
		t.Fatal("public key changed in a PEM round trip")
	}
	// PKCS #1 blocks are accepted too, with surrounding whitespace.
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if k, err := ParsePrivateKeyPEM(append([]byte("\n"), append(pkcs1, "\n\n"...)...)); err != nil || !k.Equal(key) {
		t.Fatalf("PKCS #1 private key: %v", err)
	}
	pkcs1Pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&key.PublicKey)})
	if k, err := ParsePublicKeyPEM(pkcs1Pub); err != nil || !k.Equal(&key.PublicKey) {
		t.Fatalf("PKCS #1 public key: %v", err)
	}
	// A signature made with the parsed key verifies with the parsed public
	// key.
	sig, err := SignHighLevel(back, testBody)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyHighLevel(pub, sig, testBody); err != nil {
		t.Fatal(err)
	}
}

func TestRSAKeyPEM_Rejects(t *testing.T) {
	t.Parallel()
	key := mustRSAKey(t)
	privPEM, _ := MarshalPrivateKeyPEM(key)
	pubPEM, _ := MarshalPublicKeyPEM(&key.PublicKey)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecPub, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPriv, _ := x509.MarshalPKCS8PrivateKey(small)
	smallPub, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	block := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: x509.MarshalPKCS1PrivateKey(key)})

	for name, data := range map[string][]byte{
		"Empty":     nil,
		"NotPEM":    []byte("hello"),
		"PublicPEM": pubPEM,
		"EC":        block("PRIVATE KEY", ecPriv),
		"Small":     block("PRIVATE KEY", smallPriv),
		"Garbage":   block("PRIVATE KEY", []byte("garbage")),
		"Trailing":  append(append([]byte{}, privPEM...), "junk"...),
		"TwoBlocks": append(append([]byte{}, privPEM...), privPEM...),
		"Encrypted": encrypted,
	} {
		if _, err := ParsePrivateKeyPEM(data); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePrivateKeyPEM(%s) = %v, want ErrInvalidKey", name, err)
		}
	}
	for name, data := range map[string][]byte{
		"Empty":      nil,
		"PrivatePEM": privPEM,
		"EC":         block("PUBLIC KEY", ecPub),
		"Small":      block("PUBLIC KEY", smallPub),
		"Garbage":    block("PUBLIC KEY", []byte("garbage")),
		"Trailing":   append(append([]byte{}, pubPEM...), "junk"...),
	} {
		if _, err := ParsePublicKeyPEM(data); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParsePublicKeyPEM(%s) = %v, want ErrInvalidKey", name, err)
		}
	}
	if _, err := SignHighLevel(small, testBody); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("SignHighLevel(1024-bit key) = %v, want ErrInvalidKey", err)
	}
	if _, err := SignHighLevel(nil, testBody); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("SignHighLevel(nil) = %v, want ErrInvalidKey", err)
	}
	if _, err := MarshalPrivateKeyPEM(nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("MarshalPrivateKeyPEM(nil) = %v, want ErrInvalidKey", err)
	}
	if _, err := MarshalPublicKeyPEM(nil); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("MarshalPublicKeyPEM(nil) = %v, want ErrInvalidKey", err)
	}
	for _, bits := range []int{0, 1024, 2047, 8193} {
		if _, err := GenerateRSAKey(bits); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("GenerateRSAKey(%d) = %v, want ErrInvalidKey", bits, err)
		}
	}
}
