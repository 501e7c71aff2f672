package signature

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mustForhoppSecret returns a new secret or stops the test.
func mustForhoppSecret(tb testing.TB) string {
	tb.Helper()
	s, err := NewForhoppSecret()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestNewForhoppSecret(t *testing.T) {
	t.Parallel()
	re := regexp.MustCompile(`^fhwh_[A-Za-z0-9_-]{43}$`)
	a, b := mustForhoppSecret(t), mustForhoppSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		if !re.MatchString(s) {
			t.Errorf("secret %q does not match %s", s, re)
		}
	}
}

// TestSignForhopp_Receiver checks SignForhopp's output the way a receiver
// written from the documentation would: HMAC-SHA256 keyed with the secret
// string, over "t.body", in lower-case hex.
func TestSignForhopp_Receiver(t *testing.T) {
	t.Parallel()
	secret := mustForhoppSecret(t)
	got := SignForhopp(secret, time.Unix(1763716800, 999_000_000), testBody)

	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("1763716800."))
	m.Write(testBody)
	want := "t=1763716800,v1=" + hex.EncodeToString(m.Sum(nil))
	if got != want {
		t.Fatalf("SignForhopp = %q, want %q", got, want)
	}
}

// TestSignForhopp_KnownAnswer pins the format to a vector computed
// independently (Python: hmac.new(b"fhwh_test", b"1700000000.{}",
// hashlib.sha256).hexdigest()).
func TestSignForhopp_KnownAnswer(t *testing.T) {
	t.Parallel()
	got := SignForhopp("fhwh_test", time.Unix(1700000000, 0), []byte("{}"))
	want := "t=1700000000,v1=" + forhoppKnownMAC
	if got != want {
		t.Fatalf("SignForhopp = %q, want %q", got, want)
	}
}

func TestVerifyForhopp(t *testing.T) {
	t.Parallel()
	secret := mustForhoppSecret(t)
	ts := time.Unix(1763716800, 0)
	header := SignForhopp(secret, ts, testBody)
	sig := strings.TrimPrefix(header, "t=1763716800,")
	other := strings.TrimPrefix(SignForhopp(mustForhoppSecret(t), ts, testBody), "t=1763716800,")

	if err := VerifyForhopp(secret, header, testBody, ts.Add(time.Minute), 0); err != nil {
		t.Fatalf("VerifyForhopp: %v", err)
	}
	ok := []string{
		sig + ",t=1763716800",                                                // order does not matter
		"t=1763716800," + other + "," + sig,                                  // rotation: several v1
		"t=1763716800," + sig + "," + other,                                  // the match may come first
		"t=1763716800,v0=abc," + sig + ",x=",                                 // unknown keys ignored
		" t=1763716800 ,\t" + sig + " ",                                      // spaces around entries
		"t=1763716800,v1=" + strings.ToUpper(strings.TrimPrefix(sig, "v1=")), // upper-case hex digits
	}
	for _, h := range ok {
		if err := VerifyForhopp(secret, h, testBody, ts, 0); err != nil {
			t.Errorf("VerifyForhopp(%q) = %v, want nil", h, err)
		}
	}

	bad := []struct {
		name, secret, header string
		body                 []byte
		now                  time.Time
		want                 error
	}{
		{"TamperedBody", secret, header, []byte(strings.Replace(string(testBody), "1999", "1998", 1)), ts, ErrNoMatchingSignature},
		{"WrongSecret", mustForhoppSecret(t), header, testBody, ts, ErrNoMatchingSignature},
		{"TamperedTimestamp", secret, "t=1763716801," + sig, testBody, ts, ErrNoMatchingSignature},
		{"OnlyForeign", secret, "t=1763716800," + other, testBody, ts, ErrNoMatchingSignature},
		{"UpperCaseKey", secret, "t=1763716800,V1=" + strings.TrimPrefix(sig, "v1="), testBody, ts, ErrMalformedHeader},
		{"OldTimestamp", secret, header, testBody, ts.Add(5*time.Minute + time.Second), ErrTimestampTooOld},
		{"FutureTimestamp", secret, header, testBody, ts.Add(-5*time.Minute - time.Second), ErrTimestampTooNew},
		{"EmptySecret", "", header, testBody, ts, ErrInvalidSecret},
		{"EmptyHeader", secret, "", testBody, ts, ErrMissingHeader},
		{"BlankHeader", secret, " \t", testBody, ts, ErrMissingHeader},
		{"NoT", secret, sig, testBody, ts, ErrMalformedHeader},
		{"NoV1", secret, "t=1763716800", testBody, ts, ErrMalformedHeader},
		{"TwoT", secret, "t=1763716800,t=1763716800," + sig, testBody, ts, ErrMalformedHeader},
		{"SignedT", secret, "t=+1763716800," + sig, testBody, ts, ErrMalformedHeader},
		{"FloatT", secret, "t=1763716800.5," + sig, testBody, ts, ErrMalformedHeader},
		{"EmptyT", secret, "t=," + sig, testBody, ts, ErrMalformedHeader},
		{"ShortV1", secret, "t=1763716800,v1=abcd", testBody, ts, ErrMalformedHeader},
		{"NonHexV1", secret, "t=1763716800,v1=" + strings.Repeat("zz", 32), testBody, ts, ErrMalformedHeader},
		{"EmptyEntry", secret, "t=1763716800,," + sig, testBody, ts, ErrMalformedHeader},
		{"TrailingComma", secret, header + ",", testBody, ts, ErrMalformedHeader},
		{"NoEquals", secret, "t=1763716800,v1," + sig, testBody, ts, ErrMalformedHeader},
		{"EmptyKey", secret, "t=1763716800,=x," + sig, testBody, ts, ErrMalformedHeader},
		{"Semicolons", secret, "t=1763716800;" + sig, testBody, ts, ErrMalformedHeader},
		{"TooLong", secret, header + strings.Repeat(",x=y", 3000), testBody, ts, ErrMalformedHeader},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyForhopp(tt.secret, tt.header, tt.body, tt.now, 0); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyForhopp(%q) = %v, want %v", tt.header, err, tt.want)
			}
		})
	}
}

// forhoppKnownMAC is the hex HMAC-SHA256 of "1700000000.{}" keyed with
// "fhwh_test", computed with Python's hmac module.
const forhoppKnownMAC = "04f5d70477989d91040b80767f95237e84327e5597996b26f1d69abe035dcc07"

func TestSignForhopp_EmptySecret(t *testing.T) {
	t.Parallel()
	if got := SignForhopp("", time.Unix(1, 0), testBody); got != "" {
		t.Fatalf("SignForhopp with an empty secret = %q, want \"\"", got)
	}
}
