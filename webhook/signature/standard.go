package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names and constants of the Standard Webhooks scheme, used by the
// Forward dialect.
const (
	// StandardIDHeader carries the message id: the event's id, the same on
	// every retry, for receivers to deduplicate on.
	StandardIDHeader = "webhook-id"

	// StandardTimestampHeader carries the attempt's time in unix seconds.
	// It changes on every retry.
	StandardTimestampHeader = "webhook-timestamp"

	// StandardSignatureHeader carries one or more space-separated
	// signatures, each "v1," followed by a base64 HMAC-SHA256.
	StandardSignatureHeader = "webhook-signature"

	// StandardSecretPrefix starts every Standard Webhooks secret; the rest
	// of the secret is the standard base64 encoding of the HMAC key.
	StandardSecretPrefix = "whsec_"

	// StandardSecretBytes is the length of the HMAC key in a secret made by
	// NewStandardSecret.
	StandardSecretBytes = 32

	// DefaultTolerance is how far a signature's timestamp may be from the
	// receiver's clock, either way, when a verifier is given a tolerance of
	// zero or less.
	DefaultTolerance = 5 * time.Minute
)

// The Standard Webhooks specification requires HMAC keys of 24 to 64 bytes.
const (
	minStandardKey = 24
	maxStandardKey = 64
)

// NewStandardSecret returns a new random Standard Webhooks signing secret:
// "whsec_" followed by the standard base64 encoding (with padding) of
// StandardSecretBytes random bytes. Show it to the endpoint's owner once and
// store it sealed (see Seal).
func NewStandardSecret() (string, error) {
	key := make([]byte, StandardSecretBytes)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("signature: new standard secret: %w", err)
	}
	return StandardSecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// ParseStandardSecret returns the HMAC key of a Standard Webhooks secret.
// The "whsec_" prefix is optional, as it is for the official libraries; the
// rest must be standard base64 (with padding) of 24 to 64 bytes. Any other
// secret gives an error wrapping ErrInvalidSecret. Endpoint code should call
// it when a secret is stored, so that SignStandard never meets a bad one.
func ParseStandardSecret(secret string) ([]byte, error) {
	enc := strings.TrimPrefix(secret, StandardSecretPrefix)
	if enc == "" {
		return nil, fmt.Errorf("%w: empty standard webhooks secret", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.Strict().DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: standard webhooks secret is not %s followed by standard base64", ErrInvalidSecret, StandardSecretPrefix)
	}
	if len(key) < minStandardKey || len(key) > maxStandardKey {
		return nil, fmt.Errorf("%w: standard webhooks key is %d bytes, want %d to %d", ErrInvalidSecret, len(key), minStandardKey, maxStandardKey)
	}
	return key, nil
}

// SignStandard returns the three Standard Webhooks headers for one delivery
// attempt of body: webhook-id (msgID), webhook-timestamp (ts in unix
// seconds) and webhook-signature ("v1," and the standard base64 of
// HMAC-SHA256 over "msgID.timestamp.body", keyed with the decoded secret).
// The caller sends body byte for byte as signed.
//
// msgID should be the event's id, unchanged across retries; ts the time of
// the attempt. SignStandard never signs with a key it cannot use: if the
// secret fails ParseStandardSecret, or msgID is not a valid message id
// (empty, or holding '.', whitespace or control characters), the returned
// header has no webhook-signature, so every receiver rejects the delivery.
func SignStandard(secret, msgID string, ts time.Time, body []byte) http.Header {
	sec := ts.Unix()
	h := make(http.Header, 3)
	h.Set(StandardIDHeader, msgID)
	h.Set(StandardTimestampHeader, strconv.FormatInt(sec, 10))
	key, err := ParseStandardSecret(secret)
	if err != nil || validMsgID(msgID) != nil {
		return h
	}
	mac := standardMAC(key, msgID, sec, body)
	h.Set(StandardSignatureHeader, "v1,"+base64.StdEncoding.EncodeToString(mac))
	return h
}

// VerifyStandard checks a delivery signed with the Standard Webhooks
// scheme, as a receiver does. It reads webhook-id, webhook-timestamp and
// webhook-signature from h, recomputes the HMAC over "id.timestamp.body"
// and compares it in constant time with every "v1," signature in the
// space-separated list (entries of other versions, such as "v1a", and v1
// entries that are not the canonical base64 of 32 bytes, are skipped). One
// match is enough, which lets a sender sign with an old and a new secret
// during rotation. Only then is the timestamp compared with now: it may be at most
// tolerance away either way (DefaultTolerance if tolerance <= 0).
//
// Errors wrap ErrInvalidSecret, ErrMissingHeader, ErrMalformedHeader (a
// timestamp that is not unix seconds, an id holding '.', or a header given
// twice), ErrNoMatchingSignature, ErrTimestampTooOld or ErrTimestampTooNew.
func VerifyStandard(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	key, err := ParseStandardSecret(secret)
	if err != nil {
		return err
	}
	id, err := singleHeader(h, StandardIDHeader)
	if err != nil {
		return err
	}
	if err := validMsgID(id); err != nil {
		return err
	}
	tsText, err := singleHeader(h, StandardTimestampHeader)
	if err != nil {
		return err
	}
	ts, ok := parseUnixSeconds(tsText)
	if !ok {
		return fmt.Errorf("%w: %s is not unix seconds", ErrMalformedHeader, StandardTimestampHeader)
	}
	sigs := h.Values(StandardSignatureHeader)
	if len(sigs) == 0 || strings.TrimSpace(strings.Join(sigs, "")) == "" {
		return fmt.Errorf("%w: %s", ErrMissingHeader, StandardSignatureHeader)
	}
	want := standardMAC(key, id, ts, body)
	matched := false
	got := make([]byte, 0, sha256.Size+2)
	for _, line := range sigs {
		for _, entry := range strings.Split(line, " ") {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != "v1" || len(sig) != base64.StdEncoding.EncodedLen(sha256.Size) {
				continue
			}
			got, err = base64.StdEncoding.Strict().AppendDecode(got[:0], []byte(sig))
			if err != nil {
				continue
			}
			// Keep comparing after a match: the time taken does not depend
			// on which entry matched.
			if hmac.Equal(got, want) {
				matched = true
			}
		}
	}
	if !matched {
		return fmt.Errorf("%w: %s", ErrNoMatchingSignature, StandardSignatureHeader)
	}
	return checkTimestamp(ts, now, tolerance)
}

// standardMAC is HMAC-SHA256 over "id.ts.body" keyed with key.
func standardMAC(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	var buf [24]byte
	m.Write([]byte(id))
	m.Write(strconv.AppendInt(append(buf[:0], '.'), ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// validMsgID reports whether id may be a Standard Webhooks message id. The
// specification forbids '.', which would make the signed content
// ambiguous; whitespace and control characters cannot travel in a header.
func validMsgID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty %s", ErrMissingHeader, StandardIDHeader)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '.' || c <= ' ' || c == 0x7f {
			return fmt.Errorf("%w: %s holds %q", ErrMalformedHeader, StandardIDHeader, c)
		}
	}
	return nil
}

// singleHeader returns the one non-empty value of header name.
func singleHeader(h http.Header, name string) (string, error) {
	vs := h.Values(name)
	switch {
	case len(vs) == 0 || vs[0] == "":
		return "", fmt.Errorf("%w: %s", ErrMissingHeader, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: %s given %d times", ErrMalformedHeader, name, len(vs))
	}
	return vs[0], nil
}

// parseUnixSeconds parses a non-negative decimal integer made of ASCII
// digits only (no sign, no spaces), as both HMAC schemes write timestamps.
func parseUnixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// checkTimestamp compares a signature's unix time ts with now.
func checkTimestamp(ts int64, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	t := time.Unix(ts, 0)
	if now.Sub(t) > tolerance {
		return fmt.Errorf("%w: signed at %s, %s before %s (tolerance %s)", ErrTimestampTooOld, t.UTC().Format(time.RFC3339), now.Sub(t).Round(time.Second), now.UTC().Format(time.RFC3339), tolerance)
	}
	if t.Sub(now) > tolerance {
		return fmt.Errorf("%w: signed at %s, %s after %s (tolerance %s)", ErrTimestampTooNew, t.UTC().Format(time.RFC3339), t.Sub(now).Round(time.Second), now.UTC().Format(time.RFC3339), tolerance)
	}
	return nil
}
