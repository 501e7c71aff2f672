package reliability

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestWebhooks_SIGKILL kills tender with SIGKILL several times while it
// records events and delivers them to a receiver, restarts it on the same
// database, and requires that every event the API lists reaches the
// receiver at least once, each delivery carrying a valid Standard Webhooks
// signature.
func TestWebhooks_SIGKILL(t *testing.T) {
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	bin := tenderBinary(t)
	dir := t.TempDir()
	dbArg := "sqlite:" + filepath.Join(dir, "t.db")
	extra := []string{"--webhooks-allow-private"}

	var verifier atomic.Pointer[standardwebhooks.Webhook]
	var mu sync.Mutex
	received := map[string]int{}
	var badSignatures atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		wh := verifier.Load()
		if wh == nil || wh.Verify(body, r.Header) != nil {
			badSignatures.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		var ev struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &ev) != nil || ev.ID == "" {
			badSignatures.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		received[ev.ID]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer receiver.Close()

	gen := 0
	proc := startTender(t, bin, dir, dbArg, extra, gen)
	acct, key := bootstrapCredentials(proc.stdout())
	if acct == "" || key == "" {
		t.Fatal("no bootstrap credentials printed")
	}
	c := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var base atomic.Pointer[string]
	u := proc.url
	base.Store(&u)

	// retry sends an idempotent request until some server answers it.
	retry := func(method, path string, body any, idem string) (*reply, error) {
		deadline := time.Now().Add(90 * time.Second)
		for {
			r, err := send(c, method, *base.Load()+path, mustJSON(body), fwd(key, acct, idem))
			if err == nil && r.Status != http.StatusConflict && r.Status < 500 {
				return r, nil
			}
			if time.Now().After(deadline) {
				if err == nil {
					err = fmt.Errorf("status %d: %s", r.Status, r.Body)
				}
				return nil, fmt.Errorf("%s %s: no answer: %v", method, path, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	ep, err := retry("POST", "/webhook_endpoints", map[string]any{"url": receiver.URL, "events": []string{"*"}}, "endpoint-create-1")
	if err != nil || ep.Status != http.StatusCreated {
		t.Fatalf("create endpoint: %v %+v", err, ep)
	}
	var created struct {
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal(ep.Body, &created); err != nil || created.Secret == "" {
		t.Fatalf("endpoint secret: %v %s", err, ep.Body)
	}
	wh, err := standardwebhooks.NewWebhook(created.Secret)
	if err != nil {
		t.Fatal(err)
	}
	verifier.Store(wh)
	pm, err := retry("POST", "/payment_methods", json.RawMessage(cardBody("4242424242424242")), "pm-create-000001")
	if err != nil || pm.Status != http.StatusCreated {
		t.Fatalf("payment method: %v", err)
	}
	var pmID struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(pm.Body, &pmID)

	// Load: workers create and pay intents until told to stop.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				r, err := retry("POST", "/payment_intents", map[string]any{"amount": 100 + i}, fmt.Sprintf("wh-pi-%d-%d-%d", seed, w, i))
				if err != nil {
					errs <- err
					return
				}
				var pi struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(r.Body, &pi)
				if _, err := retry("POST", "/payment_intents/"+pi.ID+"/payments", map[string]any{"payment_method_id": pmID.ID},
					fmt.Sprintf("wh-pay-%d-%d-%d", seed, w, i)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for round := 1; round <= 3; round++ {
		time.Sleep(time.Duration(300+rng.IntN(900)) * time.Millisecond)
		proc.kill()
		gen++
		proc = startTender(t, bin, dir, dbArg, extra, gen)
		u := proc.url
		base.Store(&u)
		t.Logf("round %d: SIGKILL and restart", round)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// Every event the API lists must arrive.
	var ids []string
	after := ""
	for {
		path := "/events?limit=50"
		if after != "" {
			path += "&starting_after=" + after
		}
		r, err := retry("GET", path, nil, "")
		if err != nil || r.Status != http.StatusOK {
			t.Fatalf("list events: %v", err)
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			Meta struct {
				HasMore bool `json:"has_more"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(r.Body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Data {
			ids = append(ids, e.ID)
		}
		if !page.Meta.HasMore || len(page.Data) == 0 {
			break
		}
		after = page.Data[len(page.Data)-1].ID
	}
	if len(ids) < 20 {
		t.Fatalf("only %d events were recorded; the load did not run", len(ids))
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		var missing []string
		for _, id := range ids {
			if received[id] == 0 {
				missing = append(missing, id)
			}
		}
		dups := 0
		for _, n := range received {
			if n > 1 {
				dups++
			}
		}
		mu.Unlock()
		if len(missing) == 0 {
			t.Logf("%d events, all delivered (%d more than once, as at-least-once allows)", len(ids), dups)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never reached the receiver, e.g. %v", len(missing), len(ids), missing[:min(5, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := badSignatures.Load(); n > 0 {
		t.Errorf("%d deliveries carried no valid signature", n)
	}
}
