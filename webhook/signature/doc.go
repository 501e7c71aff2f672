// Package signature signs tender's webhook deliveries in the format of each
// dialect, verifies them the way receivers do, and seals signing secrets
// for storage. It holds no state and does no I/O: the delivery system
// calls it with the bytes it is about to send, and stores what Seal
// returns. It depends on the standard library only.
//
// Every signer signs the exact bytes of the request body. The sender must
// send those bytes unchanged, and a receiver must verify the raw body it
// read, before any JSON parsing.
//
// # Standard Webhooks (Forward dialect)
//
// Forward endpoints get a secret made by NewStandardSecret: "whsec_" and the
// base64 of 32 random bytes. SignStandard returns three headers:
//
//	webhook-id: evt_01jd8kx3q2w5v7b9c1d3f5g7h9
//	webhook-timestamp: 1763716800
//	webhook-signature: v1,<base64 HMAC-SHA256>
//
// The HMAC key is the base64-decoded part of the secret after "whsec_"; the
// signed content is id + "." + timestamp + "." + body. The id is the
// event's and stays the same on every retry; the timestamp is the
// attempt's. The signature header may hold several space-separated
// entries (during a secret rotation); one valid "v1" entry is enough. Any
// Standard Webhooks library verifies these deliveries; in Go, a receiver
// without one writes:
//
//	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
//	m := hmac.New(sha256.New, key)
//	m.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
//	m.Write(body)
//	want := m.Sum(nil)
//	ok := false
//	for _, entry := range strings.Split(r.Header.Get("webhook-signature"), " ") {
//		if sig, found := strings.CutPrefix(entry, "v1,"); found {
//			got, err := base64.StdEncoding.DecodeString(sig)
//			ok = ok || (err == nil && hmac.Equal(got, want))
//		}
//	}
//	// then require webhook-timestamp within five minutes of the clock
//
// VerifyStandard does the same, timestamp check included.
//
// # forhopp
//
// forhopp endpoints get a secret made by NewForhoppSecret: "fhwh_" and 43
// URL-safe base64 characters. Unlike a Standard Webhooks secret, it is the
// HMAC key exactly as written, prefix included. SignForhopp returns the
// value of one header:
//
//	forhopppay-signature: t=1763716800,v1=<hex HMAC-SHA256 of "1763716800.<body>">
//
// A receiver splits the value on commas, takes t and every v1, and
// accepts the request if one v1 matches and t is recent:
//
//	m := hmac.New(sha256.New, []byte(secret))
//	m.Write([]byte(t + "."))
//	m.Write(body)
//	want := m.Sum(nil)
//	got, err := hex.DecodeString(v1)
//	ok := err == nil && hmac.Equal(got, want) // and t within five minutes
//
// VerifyForhopp parses the header strictly (see its documentation) and
// does the same.
//
// # HighLevel
//
// HighLevel marketplace apps receive an x-wh-signature header: the base64
// RSA signature (PKCS #1 v1.5, SHA-256) of the raw body, made with the
// installation's private key (GenerateRSAKey). The public key is published
// as a PEM "PUBLIC KEY" block (MarshalPublicKeyPEM) at
// HighLevelPublicKeyPath. There is no timestamp and no secret per
// endpoint. A receiver in Go verifies with:
//
//	block, _ := pem.Decode(publicKeyPEM)
//	k, err := x509.ParsePKIXPublicKey(block.Bytes)
//	pub := k.(*rsa.PublicKey)
//	sig, err := base64.StdEncoding.DecodeString(r.Header.Get("x-wh-signature"))
//	digest := sha256.Sum256(body)
//	err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig) // nil means authentic
//
// HighLevel's own Node SDK verifies JSON.stringify(req.body), the parsed
// body serialized again, rather than the raw bytes. Both agree only if the
// body is compact JSON that JavaScript re-serializes identically: no
// insignificant whitespace, no duplicate keys, '<', '>' and '&' not escaped
// as \u003c, \u003e and \u0026 (encoding/json's default, which
// json.Encoder.SetEscapeHTML(false) turns off), U+2028 and U+2029 written
// as themselves (encoding/json always escapes them), and numbers in their
// shortest form. The HighLevel delivery code must serialize that way.
//
// HighLevel announced that from July 2026 it signs only with Ed25519, in an
// x-ghl-signature header. This package implements the RSA x-wh-signature
// scheme that the issue asks for and HighLevel's Node SDK verifies; an
// Ed25519 signer would sit beside it (docs/webhook-signatures.md).
//
// # Sealing secrets
//
// Signing secrets and the HighLevel private key are stored encrypted:
// Seal, Open and Sealer use AES-256-GCM with a random nonce, under a key
// derived from the installation's master secret by HKDF-SHA256, and write
// "v1." and URL-safe base64. The version prefix leaves room to change the
// format or rotate the master key later.
//
// # Failures
//
// Signers never sign with an unusable secret: SignStandard then omits
// webhook-signature and SignForhopp returns "", so a misconfigured
// endpoint's deliveries fail verification everywhere rather than carry a
// forgeable signature. Verifiers compare MACs in constant time, check the
// timestamp only after a signature matched, and return errors wrapping the
// sentinel errors of this package (ErrNoMatchingSignature,
// ErrTimestampTooOld, ...), for errors.Is.
package signature
