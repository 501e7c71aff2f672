package reliability

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/internal/testserver"
)

// TestColdStart_ConcurrentReads sends many concurrent reads to a server
// that has just started, before any read statement is prepared (as after a
// restart under load): every one must be answered promptly.
func TestColdStart_ConcurrentReads(t *testing.T) {
	for round := range 20 {
		s := testserver.Start(t, testserver.Options{})
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		paths := []string{"/payment_intents/pi_00000000000000000000000000", "/payments/pmt_00000000000000000000000000",
			"/refunds/re_00000000000000000000000000", "/payment_methods/pm_00000000000000000000000000", "/payment_intents?limit=5"}
		const n = 64
		var wg sync.WaitGroup
		errs := make(chan error, n)
		gate := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				if _, err := send(c, "GET", s.URL+paths[i%len(paths)], nil, fwd(s.Key, s.AccountID, "")); err != nil {
					errs <- err
				}
			}()
		}
		start := time.Now()
		close(gate)
		wg.Wait()
		close(errs)
		failed := 0
		for err := range errs {
			failed++
			if failed == 1 {
				t.Errorf("round %d: %v", round, err)
			}
		}
		if failed > 0 {
			t.Fatalf("round %d: %d of %d concurrent reads on a fresh server got no answer within 10s", round, failed, n)
		}
		t.Logf("round %d: %d concurrent reads answered in %v", round, n, time.Since(start).Round(time.Millisecond))
		s.Close()
	}
}
