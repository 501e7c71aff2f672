package signature_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tenderpay/tender/webhook/signature"
)

// A Forward receiver checks a delivery with VerifyStandard (or any
// Standard Webhooks library).
func ExampleVerifyStandard() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" // the endpoint's secret
	body := []byte(`{"type":"v2.payment.captured"}`)
	sent := time.Unix(1763716800, 0)
	h := signature.SignStandard(secret, "evt_01jd8kx3q2w5v7b9c1d3f5g7h9", sent, body)

	fmt.Println(signature.VerifyStandard(secret, h, body, sent.Add(30*time.Second), 0))
	fmt.Println(signature.VerifyStandard(secret, h, body, sent.Add(time.Hour), 0))
	// Output:
	// <nil>
	// signature: timestamp too old: signed at 2025-11-21T09:20:00Z, 1h0m0s before 2025-11-21T10:20:00Z (tolerance 5m0s)
}

// Example_standardReceiver is the Standard Webhooks check written with the
// standard library only, as in the package documentation.
func Example_standardReceiver() {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"type":"v2.payment.captured"}`)
	now := time.Now()
	r := &http.Request{Header: signature.SignStandard(secret, "evt_1", now, body)}

	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(r.Header.Get("webhook-id") + "." + r.Header.Get("webhook-timestamp") + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, entry := range strings.Split(r.Header.Get("webhook-signature"), " ") {
		if sig, found := strings.CutPrefix(entry, "v1,"); found {
			got, err := base64.StdEncoding.DecodeString(sig)
			ok = ok || (err == nil && hmac.Equal(got, want))
		}
	}
	fmt.Println(ok)
	// Output: true
}

// A forhopp receiver checks the forhopppay-signature header.
func ExampleVerifyForhopp() {
	secret := "fhwh_4bM0x9Qm1vT8kzR2yW7nC5pL3dF6hJ0sA9gE2uI1oYw" // the endpoint's secret
	body := []byte(`{"type":"charge.completed"}`)
	sent := time.Unix(1763716800, 0)
	header := signature.SignForhopp(secret, sent, body)
	fmt.Println(header[:len("t=1763716800,v1=")])

	fmt.Println(signature.VerifyForhopp(secret, header, body, sent.Add(time.Minute), 0))
	fmt.Println(signature.VerifyForhopp(secret, header, []byte(`{"type":"charge.failed"}`), sent, 0))
	// Output:
	// t=1763716800,v1=
	// <nil>
	// signature: no matching signature: forhopppay-signature
}

// Example_forhoppReceiver is the forhopp check written with the standard
// library only, as in the package documentation.
func Example_forhoppReceiver() {
	secret := "fhwh_4bM0x9Qm1vT8kzR2yW7nC5pL3dF6hJ0sA9gE2uI1oYw"
	body := []byte(`{"type":"charge.completed"}`)
	header := signature.SignForhopp(secret, time.Now(), body)

	var t string
	var v1s []string
	for _, entry := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(entry), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1s = append(v1s, v)
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(t + "."))
	m.Write(body)
	want := m.Sum(nil)
	ok := false
	for _, v1 := range v1s {
		got, err := hex.DecodeString(v1)
		ok = ok || (err == nil && hmac.Equal(got, want))
	}
	fmt.Println(ok)
	// Output: true
}

// A HighLevel receiver verifies x-wh-signature with the public key tender
// publishes, here with the standard library only.
func ExampleSignHighLevel() {
	key, err := signature.GenerateRSAKey(2048) // once per installation, stored sealed
	if err != nil {
		panic(err)
	}
	publicKeyPEM, _ := signature.MarshalPublicKeyPEM(&key.PublicKey) // served at HighLevelPublicKeyPath
	body := []byte(`{"type":"OrderCreate","amount":150.1}`)
	header, _ := signature.SignHighLevel(key, body)

	// The receiver's side.
	block, _ := pem.Decode(publicKeyPEM)
	k, _ := x509.ParsePKIXPublicKey(block.Bytes)
	pub := k.(*rsa.PublicKey)
	sig, _ := base64.StdEncoding.DecodeString(header)
	digest := sha256.Sum256(body)
	fmt.Println(rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig))
	fmt.Println(signature.VerifyHighLevel(pub, header, body))
	// Output:
	// <nil>
	// <nil>
}

// Secrets are stored sealed under the installation's master secret.
func ExampleSeal() {
	master := []byte("a-master-secret-of-at-least-32-bytes!")
	secret, _ := signature.NewStandardSecret()
	sealed, _ := signature.Seal(master, []byte(secret))
	fmt.Println(sealed[:3])
	opened, _ := signature.Open(master, sealed)
	fmt.Println(string(opened) == secret)
	// Output:
	// v1.
	// true
}
