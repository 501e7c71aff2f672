package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/server"
)

// lockedBuffer collects the server's logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// testCards are the sim processor's documented test cards (processor/sim),
// some written with spaces or dashes as buyers type them, with whether the
// sim approves them.
var testCards = []struct {
	number  string
	approve bool
}{
	{"4242424242424242", true},
	{"4242 4242 4242 4242", true},
	{"5555555555554444", true},
	{"5555-5555-5555-4444", true},
	{"378282246310005", true},
	{"4000000000000002", false},
	{"4867094332104873", false},
	{"4000000000009995", false},
	{"4112912498587255", false},
	{"4208475663072763", false},
	{"4000000000000259", true},
	{"6011111111111117", true},
}

// rejectedCards are refused at tokenization; they must not be logged either.
var rejectedCards = []struct{ number, why string }{
	{"4242424242424241", "fails the Luhn check"},
	{"4012888888881881", "expired"},
}

func digits(s string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(s)
}

// spellings returns number as given, as bare digits, and grouped by four
// with spaces and with dashes.
func spellings(number string) []string {
	d := digits(number)
	var groups []string
	for i := 0; i < len(d); i += 4 {
		groups = append(groups, d[i:min(i+4, len(d))])
	}
	return []string{number, d, strings.Join(groups, " "), strings.Join(groups, "-")}
}

func TestNoCardNumbersStored(t *testing.T) {
	logs := &lockedBuffer{}
	s := testserver.Start(t, testserver.Options{LogOut: logs, Config: func(c *server.Config) {
		c.LogLevel = "debug"
		c.SimBankDelay = 50 * time.Millisecond
	}})
	c := &http.Client{Timeout: 30 * time.Second}
	var responses bytes.Buffer
	n := 0
	do := func(method, path string, body []byte, idem bool, want int) map[string]any {
		t.Helper()
		key := ""
		if idem {
			n++
			key = fmt.Sprintf("cards-test-%04d", n)
		}
		r, err := send(c, method, s.URL+path, body, fwd(s.Key, s.AccountID, key))
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		responses.Write(r.Body)
		if r.Status != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, want, r.Body)
		}
		var m map[string]any
		_ = json.Unmarshal(r.Body, &m)
		if idem && want < 300 {
			// Replays too go through the stored record.
			again, err := send(c, method, s.URL+path, body, fwd(s.Key, s.AccountID, key))
			if err != nil || again.Status != want {
				t.Fatalf("replay of %s %s: %v %v", method, path, err, again)
			}
		}
		return m
	}

	var needles []string
	for i, card := range testCards {
		needles = append(needles, spellings(card.number)...)
		pm := do("POST", "/payment_methods", cardBody(card.number), i%2 == 0, 201)
		if last4 := str(pm["card"].(map[string]any), "last_four_digits"); last4 != digits(card.number)[len(digits(card.number))-4:] {
			t.Errorf("card %s: last_four_digits %q", card.number, last4)
		}
		pi := do("POST", "/payment_intents", mustJSON(map[string]any{"amount": 5000, "capture": false}), true, 201)
		id := str(pi, "id")
		pay := do("POST", "/payment_intents/"+id+"/payments", mustJSON(map[string]any{"payment_method_id": str(pm, "id")}), true, 201)
		if !card.approve {
			if str(pay, "status") != "failed" {
				t.Errorf("card %s: payment is %s, want failed", card.number, str(pay, "status"))
			}
			continue
		}
		if str(pay, "status") != "uncaptured" {
			t.Fatalf("card %s: payment is %s, want uncaptured", card.number, str(pay, "status"))
		}
		do("POST", "/payment_intents/"+id+"/capture", mustJSON(map[string]any{"amount": 3000}), true, 200)
		do("POST", "/payment_intents/"+id+"/refunds", mustJSON(map[string]any{"amount": 1000}), true, 201)
		do("PATCH", "/payment_methods/"+str(pm, "id"), mustJSON(map[string]any{"card": map[string]any{"exp_month": 11}}), true, 200)
	}
	for _, card := range rejectedCards {
		needles = append(needles, spellings(card.number)...)
		body := cardBody(card.number)
		if card.why == "expired" {
			body = mustJSON(map[string]any{"payment_method_type": "card", "card": map[string]any{"number": card.number, "exp_month": 1, "exp_year": 2020}})
		}
		do("POST", "/payment_methods", body, true, 400)
	}
	// A key reused with another card number is refused; neither number may
	// end up stored with the key.
	do("POST", "/payment_methods", cardBody("4242424242424242"), true, 201)
	r, err := send(c, "POST", s.URL+"/payment_methods", cardBody("5555555555554444"), fwd(s.Key, s.AccountID, fmt.Sprintf("cards-test-%04d", n)))
	if err != nil || r.Status != http.StatusUnprocessableEntity {
		t.Errorf("key reused with another card: %v %v", err, r)
	}

	// Bank accounts: one that settles, one that fails.
	banks := []struct{ account, final string }{{"000123456789", "captured"}, {"000111111113", "failed"}}
	var bankIntents []string
	for _, b := range banks {
		needles = append(needles, b.account)
		pm := do("POST", "/payment_methods", mustJSON(map[string]any{"payment_method_type": "bank",
			"bank": map[string]any{"account_number": b.account, "routing_number": "110000000", "account_type": "checking"}}), true, 201)
		pi := do("POST", "/payment_intents", mustJSON(map[string]any{"amount": 7000}), true, 201)
		pay := do("POST", "/payment_intents/"+str(pi, "id")+"/payments", mustJSON(map[string]any{"payment_method_id": str(pm, "id")}), true, 201)
		if str(pay, "status") != "pending" {
			t.Errorf("bank %s: payment is %s, want pending", b.account, str(pay, "status"))
		}
		bankIntents = append(bankIntents, str(pi, "id"))
	}
	for i, id := range bankIntents {
		deadline := time.Now().Add(15 * time.Second)
		for {
			pi := do("GET", "/payment_intents/"+id, nil, false, 200)
			if str(pi, "status") == banks[i].final {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("bank payment %s is still %s, want %s", id, str(pi, "status"), banks[i].final)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// HighLevel requests carry the location token; fetching the webhook key
	// makes the installation's RSA key, stored sealed.
	hl := map[string]string{"Authorization": "Bearer " + s.Boot.HighLevel.Token, "Version": "2021-07-28"}
	if r, err := send(c, "GET", s.URL+"/payments/webhook-endpoints?altType=location&altId="+s.AccountID, nil, hl); err != nil || r.Status != 200 {
		t.Fatalf("HighLevel request: %v %v", err, r)
	}
	if r, err := send(c, "GET", s.URL+"/.well-known/tender/highlevel-webhook-public-key.pem", nil, nil); err != nil || r.Status != 200 {
		t.Fatalf("HighLevel webhook key: %v %v", err, r)
	}

	// Scan the database files (the WAL before and after closing, as SQLite
	// folds it into the main file on close) and the logs.
	dbPath := strings.TrimPrefix(s.Config.DB, "sqlite:")
	walBefore, _ := os.ReadFile(dbPath + "-wal")
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	sources := map[string][]byte{"the WAL file while the server ran": walBefore, "the logs": logs.Bytes(), "the API responses": responses.Bytes()}
	entries, err := os.ReadDir(filepath.Dir(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if b, err := os.ReadFile(filepath.Join(filepath.Dir(dbPath), e.Name())); err == nil {
			sources["file "+e.Name()] = b
		}
	}
	if len(sources["file "+filepath.Base(dbPath)]) == 0 || len(walBefore) == 0 || len(sources["the logs"]) == 0 {
		t.Fatalf("nothing to scan: db %d bytes, wal %d bytes, logs %d bytes", len(sources["file "+filepath.Base(dbPath)]), len(walBefore), len(sources["the logs"]))
	}
	if !bytes.Contains(sources["the logs"], []byte(`"level":"DEBUG"`)) && !bytes.Contains(sources["the logs"], []byte(`"level":"INFO"`)) {
		t.Errorf("the captured logs hold no request lines; the scan would prove nothing")
	}
	// Controls: the scan finds what is there (the account id is in the
	// database and in the request logs).
	for _, name := range []string{"file " + filepath.Base(dbPath), "the logs"} {
		if !bytes.Contains(sources[name], []byte(s.AccountID)) {
			t.Errorf("control failed: the account id is not found in %s, so the scan cannot be trusted", name)
		}
	}
	scan := func(what, needle string, skip string) {
		for name, b := range sources {
			if name != skip && bytes.Contains(b, []byte(needle)) {
				t.Errorf("%s %q appears in %s", what, needle, name)
			}
		}
	}
	for _, nd := range needles {
		scan("card or account number", nd, "")
	}
	keys := []string{s.Boot.Forward.Test.PrivateKey, s.Boot.Forward.Test.PublicKey, s.Boot.Forward.Live.PrivateKey, s.Boot.Forward.Live.PublicKey,
		s.Boot.HighLevel.Token}
	for _, k := range keys {
		scan("API key", k, "the API responses")
		scan("the secret part of API key", k[len(k)-32:], "the API responses")
	}
	scan("a private key", "PRIVATE KEY", "")
	t.Logf("scanned %d sources for %d number spellings and %d keys; %d bytes of logs", len(sources), len(needles), len(keys), len(logs.Bytes()))
}
