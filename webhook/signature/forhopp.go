package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Constants of the forhopp scheme.
const (
	// ForhoppHeader is the header that carries a forhopp signature:
	// "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	ForhoppHeader = "forhopppay-signature"

	// ForhoppSecretPrefix starts every forhopp signing secret made by
	// NewForhoppSecret. It differs from "whsec_" on purpose: a forhopp
	// secret is used as the HMAC key as it is, prefix included, while a
	// Standard Webhooks "whsec_" secret is base64-decoded first.
	ForhoppSecretPrefix = "fhwh_"

	// ForhoppSecretBytes is the number of random bytes in a secret made by
	// NewForhoppSecret.
	ForhoppSecretBytes = 32

	// maxForhoppHeader bounds the work one header can cause.
	maxForhoppHeader = 8 << 10
)

// NewForhoppSecret returns a new random forhopp signing secret: "fhwh_"
// followed by the unpadded URL-safe base64 of ForhoppSecretBytes random
// bytes (48 characters in all). The HMAC key is the whole string, prefix
// included, so a receiver passes the secret to its HMAC function unchanged.
func NewForhoppSecret() (string, error) {
	b := make([]byte, ForhoppSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("signature: new forhopp secret: %w", err)
	}
	return ForhoppSecretPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// SignForhopp returns the forhopppay-signature header value for body sent
// at ts: "t=<ts in unix seconds>,v1=<lower-case hex HMAC-SHA256 of
// "t.body">", keyed with the bytes of secret as given. The caller sends body
// byte for byte as signed. An empty secret signs nothing: SignForhopp then
// returns "", so the delivery carries no signature and every receiver
// rejects it.
func SignForhopp(secret string, ts time.Time, body []byte) string {
	if secret == "" {
		return ""
	}
	sec := ts.Unix()
	return "t=" + strconv.FormatInt(sec, 10) + ",v1=" + hex.EncodeToString(forhoppMAC(secret, sec, body))
}

// VerifyForhopp checks a forhopppay-signature header value against body, as
// a receiver does. The header is a comma-separated list of key=value
// entries (spaces or tabs around an entry are allowed): exactly one t, the
// signing time in unix seconds; one or more v1, each the hex HMAC-SHA256 of
// "t.body" (several during a secret rotation; one match is enough); entries
// with other keys, such as a future v2, are ignored. An empty entry, an
// entry without '=', a second t, a t that is not unix seconds, a v1 that is
// not 64 hex digits, or a header longer than 8 KiB is rejected as
// malformed. Signatures are compared in constant time; only an authentic
// signature has its timestamp compared with now, allowing tolerance either
// way (DefaultTolerance if tolerance <= 0).
//
// Errors wrap ErrInvalidSecret (empty secret), ErrMissingHeader,
// ErrMalformedHeader, ErrNoMatchingSignature, ErrTimestampTooOld or
// ErrTimestampTooNew.
func VerifyForhopp(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return fmt.Errorf("%w: empty forhopp secret", ErrInvalidSecret)
	}
	ts, sigs, err := parseForhoppHeader(header)
	if err != nil {
		return err
	}
	want := forhoppMAC(secret, ts, body)
	matched := false
	for _, sig := range sigs {
		if hmac.Equal(sig, want) {
			matched = true
		}
	}
	if !matched {
		return fmt.Errorf("%w: %s", ErrNoMatchingSignature, ForhoppHeader)
	}
	return checkTimestamp(ts, now, tolerance)
}

// parseForhoppHeader returns the t and the decoded v1 signatures of a
// forhopppay-signature value, or an error wrapping ErrMissingHeader or
// ErrMalformedHeader.
func parseForhoppHeader(header string) (ts int64, sigs [][]byte, err error) {
	if strings.Trim(header, " \t") == "" {
		return 0, nil, fmt.Errorf("%w: %s", ErrMissingHeader, ForhoppHeader)
	}
	if len(header) > maxForhoppHeader {
		return 0, nil, fmt.Errorf("%w: %s is %d bytes, limit %d", ErrMalformedHeader, ForhoppHeader, len(header), maxForhoppHeader)
	}
	seenT := false
	for i, entry := range strings.Split(header, ",") {
		entry = strings.Trim(entry, " \t")
		key, value, ok := strings.Cut(entry, "=")
		switch {
		case entry == "":
			return 0, nil, fmt.Errorf("%w: %s entry %d is empty", ErrMalformedHeader, ForhoppHeader, i+1)
		case !ok || key == "":
			return 0, nil, fmt.Errorf("%w: %s entry %d is not key=value", ErrMalformedHeader, ForhoppHeader, i+1)
		}
		switch key {
		case "t":
			if seenT {
				return 0, nil, fmt.Errorf("%w: %s has more than one t", ErrMalformedHeader, ForhoppHeader)
			}
			seenT = true
			if ts, ok = parseUnixSeconds(value); !ok {
				return 0, nil, fmt.Errorf("%w: %s t is not unix seconds", ErrMalformedHeader, ForhoppHeader)
			}
		case "v1":
			if len(value) != hex.EncodedLen(sha256.Size) {
				return 0, nil, fmt.Errorf("%w: %s v1 is %d characters, want %d hex digits", ErrMalformedHeader, ForhoppHeader, len(value), hex.EncodedLen(sha256.Size))
			}
			sig, err := hex.DecodeString(value)
			if err != nil {
				return 0, nil, fmt.Errorf("%w: %s v1 is not hex", ErrMalformedHeader, ForhoppHeader)
			}
			sigs = append(sigs, sig)
		}
	}
	if !seenT {
		return 0, nil, fmt.Errorf("%w: %s has no t", ErrMalformedHeader, ForhoppHeader)
	}
	if len(sigs) == 0 {
		return 0, nil, fmt.Errorf("%w: %s has no v1 signature", ErrMalformedHeader, ForhoppHeader)
	}
	return ts, sigs, nil
}

// forhoppMAC is HMAC-SHA256 over "ts.body" keyed with the bytes of secret.
func forhoppMAC(secret string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	var buf [24]byte
	m.Write(append(strconv.AppendInt(buf[:0], ts, 10), '.'))
	m.Write(body)
	return m.Sum(nil)
}
