package signature

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

var testBody = []byte(`{"id":"evt_01jd8kx3q2w5v7b9c1d3f5g7h9","type":"v2.payment.captured","data":{"amount":1999,"currency":"USD","note":"<&> ü"}}`)

// mustStandardSecret returns a new secret or stops the test.
func mustStandardSecret(tb testing.TB) string {
	tb.Helper()
	s, err := NewStandardSecret()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// mustLibrary returns the official library's verifier for secret.
func mustLibrary(tb testing.TB, secret string) *standardwebhooks.Webhook {
	tb.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		tb.Fatalf("standardwebhooks.NewWebhook: %v", err)
	}
	return wh
}

func TestNewStandardSecret(t *testing.T) {
	t.Parallel()
	a, b := mustStandardSecret(t), mustStandardSecret(t)
	if a == b {
		t.Fatal("two secrets are equal")
	}
	for _, s := range []string{a, b} {
		enc, ok := strings.CutPrefix(s, "whsec_")
		if !ok {
			t.Fatalf("secret %q lacks the whsec_ prefix", s)
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil || len(key) != StandardSecretBytes {
			t.Fatalf("secret %q: key of %d bytes, err %v; want %d bytes", s, len(key), err, StandardSecretBytes)
		}
		if _, err := ParseStandardSecret(s); err != nil {
			t.Fatalf("ParseStandardSecret(%q): %v", s, err)
		}
	}
}

func TestParseStandardSecret(t *testing.T) {
	t.Parallel()
	key24 := base64.StdEncoding.EncodeToString(make([]byte, 24))
	key64 := base64.StdEncoding.EncodeToString(make([]byte, 64))
	for _, s := range []string{"whsec_" + key24, key24, "whsec_" + key64} {
		if _, err := ParseStandardSecret(s); err != nil {
			t.Errorf("ParseStandardSecret(%q) = %v, want nil", s, err)
		}
	}
	bad := []string{
		"",
		"whsec_",
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 23)), // too short
		"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), // too long
		"whsec_" + base64.RawStdEncoding.EncodeToString(make([]byte, 32)),
		"whsec_" + base64.URLEncoding.EncodeToString([]byte(strings.Repeat("\xff", 30))),
		"whsec_not base64 at all!",
	}
	for _, s := range bad {
		if _, err := ParseStandardSecret(s); !errors.Is(err, ErrInvalidSecret) {
			t.Errorf("ParseStandardSecret(%q) = %v, want ErrInvalidSecret", s, err)
		}
	}
}

// TestStandard_KnownAnswer checks SignStandard against the test vector
// published with the Standard Webhooks libraries.
func TestStandard_KnownAnswer(t *testing.T) {
	t.Parallel()
	h := SignStandard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	want := http.Header{
		"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
		"Webhook-Timestamp": {"1614265330"},
		"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
	}
	for k, v := range want {
		if got := h.Values(k); len(got) != 1 || got[0] != v[0] {
			t.Errorf("%s = %q, want %q", k, got, v[0])
		}
	}
	if len(h) != len(want) {
		t.Errorf("headers = %v, want exactly %v", h, want)
	}
}

// TestStandard_LibraryVerifiesTender checks tender's signatures with the
// official Go library, which verifies against the real clock.
func TestStandard_LibraryVerifiesTender(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	wh := mustLibrary(t, secret)
	now := time.Now()

	h := SignStandard(secret, "evt_01jd8kx3q2w5v7b9c1d3f5g7h9", now, testBody)
	if err := wh.Verify(testBody, h); err != nil {
		t.Fatalf("library rejects tender's signature: %v", err)
	}
	// The library also accepts a secret without its prefix.
	if err := mustLibrary(t, strings.TrimPrefix(secret, "whsec_")).Verify(testBody, h); err != nil {
		t.Fatalf("library (unprefixed secret) rejects tender's signature: %v", err)
	}
	// An empty body and a large one.
	for _, body := range [][]byte{{}, []byte(strings.Repeat("x", 1<<20))} {
		if err := wh.Verify(body, SignStandard(secret, "evt_x", now, body)); err != nil {
			t.Fatalf("library rejects a %d-byte body: %v", len(body), err)
		}
	}

	t.Run("TamperedBody", func(t *testing.T) {
		tampered := []byte(strings.Replace(string(testBody), "1999", "1998", 1))
		if err := wh.Verify(tampered, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Fatalf("library: %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("WrongSecret", func(t *testing.T) {
		other := mustLibrary(t, mustStandardSecret(t))
		if err := other.Verify(testBody, h); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Fatalf("library: %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("TamperedID", func(t *testing.T) {
		h2 := h.Clone()
		h2.Set("webhook-id", "evt_other")
		if err := wh.Verify(testBody, h2); !errors.Is(err, standardwebhooks.ErrNoMatchingSignature) {
			t.Fatalf("library: %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("OldTimestamp", func(t *testing.T) {
		old := SignStandard(secret, "evt_x", now.Add(-10*time.Minute), testBody)
		if err := wh.Verify(testBody, old); !errors.Is(err, standardwebhooks.ErrMessageTooOld) {
			t.Fatalf("library: %v, want ErrMessageTooOld", err)
		}
		// The signature itself is valid.
		if err := wh.VerifyIgnoringTimestamp(testBody, old); err != nil {
			t.Fatalf("library ignoring timestamp: %v", err)
		}
	})
	t.Run("Rotation", func(t *testing.T) {
		// A delivery signed with the old and the new secret verifies with
		// either.
		oldSecret := mustStandardSecret(t)
		both := SignStandard(secret, "evt_x", now, testBody)
		both.Set("webhook-signature", SignStandard(oldSecret, "evt_x", now, testBody).Get("webhook-signature")+" "+both.Get("webhook-signature"))
		for _, s := range []string{secret, oldSecret} {
			if err := mustLibrary(t, s).Verify(testBody, both); err != nil {
				t.Fatalf("library: %v", err)
			}
			if err := VerifyStandard(s, both, testBody, now, 0); err != nil {
				t.Fatalf("VerifyStandard: %v", err)
			}
		}
	})
}

// TestStandard_TenderVerifiesLibrary checks VerifyStandard against
// signatures made by the official library.
func TestStandard_TenderVerifiesLibrary(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	wh := mustLibrary(t, secret)
	ts := time.Unix(1763716800, 0)
	sig, err := wh.Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, testBody)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(StandardIDHeader, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
	h.Set(StandardTimestampHeader, "1763716800")
	h.Set(StandardSignatureHeader, sig)
	if got := SignStandard(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, testBody).Get(StandardSignatureHeader); got != sig {
		t.Errorf("SignStandard = %q, library Sign = %q", got, sig)
	}
	if err := VerifyStandard(secret, h, testBody, ts.Add(time.Minute), 0); err != nil {
		t.Fatalf("VerifyStandard rejects the library's signature: %v", err)
	}

	t.Run("TamperedBody", func(t *testing.T) {
		err := VerifyStandard(secret, h, append(append([]byte{}, testBody...), ' '), ts, 0)
		if !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("VerifyStandard = %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("WrongSecret", func(t *testing.T) {
		err := VerifyStandard(mustStandardSecret(t), h, testBody, ts, 0)
		if !errors.Is(err, ErrNoMatchingSignature) {
			t.Fatalf("VerifyStandard = %v, want ErrNoMatchingSignature", err)
		}
	})
	t.Run("OldTimestamp", func(t *testing.T) {
		err := VerifyStandard(secret, h, testBody, ts.Add(5*time.Minute+time.Second), 0)
		if !errors.Is(err, ErrTimestampTooOld) {
			t.Fatalf("VerifyStandard = %v, want ErrTimestampTooOld", err)
		}
		// Exactly at the tolerance is still accepted; a wider tolerance
		// accepts more.
		if err := VerifyStandard(secret, h, testBody, ts.Add(5*time.Minute), 0); err != nil {
			t.Fatalf("at the tolerance: %v", err)
		}
		if err := VerifyStandard(secret, h, testBody, ts.Add(time.Hour), 2*time.Hour); err != nil {
			t.Fatalf("wider tolerance: %v", err)
		}
	})
	t.Run("FutureTimestamp", func(t *testing.T) {
		err := VerifyStandard(secret, h, testBody, ts.Add(-6*time.Minute), 0)
		if !errors.Is(err, ErrTimestampTooNew) {
			t.Fatalf("VerifyStandard = %v, want ErrTimestampTooNew", err)
		}
	})
	t.Run("SeveralSignatures", func(t *testing.T) {
		other, err := mustLibrary(t, mustStandardSecret(t)).Sign("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, testBody)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{
			other + " " + sig,
			sig + " " + other,
			"v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg== " + sig,
			"v2,abc  v1,!!!! " + sig + " ",
		} {
			h2 := h.Clone()
			h2.Set(StandardSignatureHeader, v)
			if err := VerifyStandard(secret, h2, testBody, ts, 0); err != nil {
				t.Errorf("VerifyStandard(%q) = %v, want nil", v, err)
			}
		}
		// The signature split over two header lines.
		h2 := h.Clone()
		h2.Set(StandardSignatureHeader, other)
		h2.Add(StandardSignatureHeader, sig)
		if err := VerifyStandard(secret, h2, testBody, ts, 0); err != nil {
			t.Errorf("two header lines: %v", err)
		}
		h2.Set(StandardSignatureHeader, other)
		if err := VerifyStandard(secret, h2, testBody, ts, 0); !errors.Is(err, ErrNoMatchingSignature) {
			t.Errorf("only a foreign signature: %v, want ErrNoMatchingSignature", err)
		}
	})
}

func TestVerifyStandard_BadHeaders(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	ts := time.Unix(1763716800, 0)
	good := SignStandard(secret, "evt_1", ts, testBody)
	tests := []struct {
		name   string
		edit   func(h http.Header)
		secret string
		want   error
	}{
		{"NoID", func(h http.Header) { h.Del(StandardIDHeader) }, secret, ErrMissingHeader},
		{"NoTimestamp", func(h http.Header) { h.Del(StandardTimestampHeader) }, secret, ErrMissingHeader},
		{"NoSignature", func(h http.Header) { h.Del(StandardSignatureHeader) }, secret, ErrMissingHeader},
		{"BlankSignature", func(h http.Header) { h.Set(StandardSignatureHeader, "  ") }, secret, ErrMissingHeader},
		{"DotInID", func(h http.Header) { h.Set(StandardIDHeader, "evt.1") }, secret, ErrMalformedHeader},
		{"SpaceInID", func(h http.Header) { h.Set(StandardIDHeader, "evt 1") }, secret, ErrMalformedHeader},
		{"TwoIDs", func(h http.Header) { h.Add(StandardIDHeader, "evt_2") }, secret, ErrMalformedHeader},
		{"TwoTimestamps", func(h http.Header) { h.Add(StandardTimestampHeader, "1763716800") }, secret, ErrMalformedHeader},
		{"SignedTimestamp", func(h http.Header) { h.Set(StandardTimestampHeader, "+1763716800") }, secret, ErrMalformedHeader},
		{"NegativeTimestamp", func(h http.Header) { h.Set(StandardTimestampHeader, "-1") }, secret, ErrMalformedHeader},
		{"MillisTimestamp", func(h http.Header) { h.Set(StandardTimestampHeader, "1763716800.000") }, secret, ErrMalformedHeader},
		{"HugeTimestamp", func(h http.Header) { h.Set(StandardTimestampHeader, "99999999999999999999") }, secret, ErrMalformedHeader},
		{"OtherTimestamp", func(h http.Header) { h.Set(StandardTimestampHeader, "1763716801") }, secret, ErrNoMatchingSignature},
		{"OnlyV1a", func(h http.Header) {
			h.Set(StandardSignatureHeader, "v1a,"+strings.TrimPrefix(h.Get(StandardSignatureHeader), "v1,"))
		}, secret, ErrNoMatchingSignature},
		{"NoComma", func(h http.Header) { h.Set(StandardSignatureHeader, "v1") }, secret, ErrNoMatchingSignature},
		{"BadSecret", func(h http.Header) {}, "whsec_short", ErrInvalidSecret},
		{"EmptySecret", func(h http.Header) {}, "", ErrInvalidSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := good.Clone()
			tt.edit(h)
			if err := VerifyStandard(tt.secret, h, testBody, ts, 0); !errors.Is(err, tt.want) {
				t.Fatalf("VerifyStandard = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSignStandard_Unsignable(t *testing.T) {
	t.Parallel()
	secret := mustStandardSecret(t)
	ts := time.Unix(1763716800, 0)
	for _, tt := range []struct{ secret, id string }{
		{"whsec_short", "evt_1"},
		{"", "evt_1"},
		{secret, ""},
		{secret, "evt.1"},
		{secret, "evt\n1"},
	} {
		h := SignStandard(tt.secret, tt.id, ts, testBody)
		if v := h.Get(StandardSignatureHeader); v != "" {
			t.Errorf("SignStandard(%q, %q) signed: %q", tt.secret, tt.id, v)
		}
		if h.Get(StandardTimestampHeader) != "1763716800" {
			t.Errorf("SignStandard(%q, %q): timestamp %q", tt.secret, tt.id, h.Get(StandardTimestampHeader))
		}
	}
}
