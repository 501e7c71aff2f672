package signature

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The fuzz tests below run their seeds under plain `go test`; run one
// with, for example, `go test -fuzz FuzzParseForhoppHeader ./webhook/signature`.

const fuzzForhoppSecret = "fhwh_fuzzsecretfuzzsecretfuzzsecretfuzzsecre"

// FuzzParseForhoppHeader feeds arbitrary header values to the forhopp
// parser and verifier: they never panic, a parsed header always holds a t
// and 32-byte v1 signatures, and a header verifies only if it holds the
// right signature.
func FuzzParseForhoppHeader(f *testing.F) {
	body := []byte(`{"type":"charge.completed"}`)
	good := SignForhopp(fuzzForhoppSecret, time.Unix(1700000000, 0), body)
	for _, seed := range []string{
		good,
		"t=1700000000,v1=" + forhoppKnownMAC,
		good + ",v1=" + forhoppKnownMAC + ",v0=xyz",
		" t=1 , v1=" + strings.Repeat("0", 64),
		"t=1700000000", "v1=" + forhoppKnownMAC, "", ",", ",,", "=", "t=", "t==", "t=1,t=2",
		"t=-1,v1=" + forhoppKnownMAC, "t=99999999999999999999,v1=" + forhoppKnownMAC,
		"t=1700000000,v1=" + strings.Repeat("g", 64), "t=1700000000,v1=" + forhoppKnownMAC[:63],
		"t=1700000000;v1=" + forhoppKnownMAC, "\x00t=1,v1=\xff", strings.Repeat("a=b,", 3000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := parseForhoppHeader(header)
		if err == nil {
			if ts < 0 || len(sigs) == 0 {
				t.Fatalf("parsed %q to t=%d and %d signatures", header, ts, len(sigs))
			}
			for _, s := range sigs {
				if len(s) != sha256.Size {
					t.Fatalf("parsed %q to a %d-byte signature", header, len(s))
				}
			}
		}
		err = VerifyForhopp(fuzzForhoppSecret, header, body, time.Unix(1700000000, 0), time.Duration(1<<62))
		if err == nil && !strings.Contains(strings.ToLower(header), hex.EncodeToString(forhoppMAC(fuzzForhoppSecret, ts, body))) {
			t.Fatalf("VerifyForhopp accepted %q, which lacks the right signature", header)
		}
	})
}

// FuzzForhoppRoundTrip checks that whatever the secret, time and body,
// SignForhopp's output verifies, and not for another body.
func FuzzForhoppRoundTrip(f *testing.F) {
	f.Add("fhwh_test", int64(1700000000), []byte("{}"))
	f.Add("x", int64(0), []byte(nil))
	f.Add("whsec_,=\n", int64(1<<40), []byte("t=1,v1=00"))
	f.Fuzz(func(t *testing.T, secret string, sec int64, body []byte) {
		if secret == "" || sec < 0 {
			return
		}
		ts := time.Unix(sec, 0)
		header := SignForhopp(secret, ts, body)
		if err := VerifyForhopp(secret, header, body, ts, 0); err != nil {
			t.Fatalf("VerifyForhopp(SignForhopp(%q, %d, %q)) = %v", secret, sec, body, err)
		}
		if err := VerifyForhopp(secret, header, append(bytes.Clone(body), 'x'), ts, 0); err == nil {
			t.Fatal("verified with another body")
		}
	})
}

// FuzzVerifyStandard feeds arbitrary Standard Webhooks headers to
// VerifyStandard: it never panics, and accepts only headers that carry the
// right signature for their id and timestamp.
func FuzzVerifyStandard(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	good := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	for _, seed := range [][3]string{
		{"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", good},
		{"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1a,xyz " + good + " v2,"},
		{"msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1," + good},
		{"msg.x", "1614265330", good},
		{"msg_x", "-1614265330", good},
		{"msg_x", "1614265330.5", "v1,"},
		{"", "", ""},
		{"a", "0", ",,, , v1,,v1,=== v1"},
		{"\x00", "99999999999999999999", "v1," + strings.Repeat("A", 44)},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	key, err := ParseStandardSecret(secret)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, id, ts, sig string) {
		h := http.Header{}
		h.Set(StandardIDHeader, id)
		h.Set(StandardTimestampHeader, ts)
		h.Set(StandardSignatureHeader, sig)
		err := VerifyStandard(secret, h, body, time.Unix(1614265330, 0), time.Duration(1<<62))
		if err != nil {
			return
		}
		n, ok := parseUnixSeconds(ts)
		if !ok {
			t.Fatalf("accepted timestamp %q", ts)
		}
		want := "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, id, n, body))
		if !strings.Contains(" "+sig+" ", " "+want+" ") {
			t.Fatalf("accepted signature header %q without %q", sig, want)
		}
	})
}

// FuzzVerifyHighLevel feeds arbitrary x-wh-signature values to
// VerifyHighLevel: it never panics and accepts only the one valid
// signature.
func FuzzVerifyHighLevel(f *testing.F) {
	key := mustRSAKey(f)
	body := []byte(`{"type":"OrderCreate"}`)
	good, err := SignHighLevel(key, body)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{good, " " + good, good[:len(good)-2], good + "==", "", "====", strings.Repeat("A", len(good)), "\x00\xff"} {
		f.Add(seed)
	}
	want, _ := base64.StdEncoding.DecodeString(good)
	f.Fuzz(func(t *testing.T, sig string) {
		if VerifyHighLevel(&key.PublicKey, sig, body) != nil {
			return
		}
		got, err := base64.StdEncoding.DecodeString(strings.Trim(sig, " \t"))
		if err != nil || !hmac.Equal(got, want) {
			t.Fatalf("accepted %q", sig)
		}
	})
}

// FuzzParseKeyPEM checks that the PEM parsers never panic.
func FuzzParseKeyPEM(f *testing.F) {
	key := mustRSAKey(f)
	priv, _ := MarshalPrivateKeyPEM(key)
	pub, _ := MarshalPublicKeyPEM(&key.PublicKey)
	for _, seed := range [][]byte{priv, pub, priv[:len(priv)/2], nil, []byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := ParsePrivateKeyPEM(data); err == nil && k.N.BitLen() < MinRSABits {
			t.Fatalf("accepted a %d-bit private key", k.N.BitLen())
		}
		if k, err := ParsePublicKeyPEM(data); err == nil && k.N.BitLen() < MinRSABits {
			t.Fatalf("accepted a %d-bit public key", k.N.BitLen())
		}
	})
}

// FuzzOpen checks that Open never panics, and opens only values in the
// canonical encoding (one string per sealed value). The seed corpus is made
// afresh in each process (nonces are random), so the property does not
// compare with it.
func FuzzOpen(f *testing.F) {
	s, err := NewSealer(testMaster)
	if err != nil {
		f.Fatal(err)
	}
	sealed, _ := s.Seal([]byte("whsec_x"))
	for _, seed := range []string{sealed, sealed[:len(sealed)-1], "v1.", "v1", "", "v1.====", "v2." + sealed[3:], "v1." + strings.Repeat("A", 40)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		plain, err := s.Open(v)
		if err != nil {
			return
		}
		raw, derr := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(v, "v1."))
		if derr != nil || v != "v1."+base64.RawURLEncoding.EncodeToString(raw) || string(plain) != "whsec_x" {
			t.Fatalf("opened %q to %q", v, plain)
		}
	})
}
