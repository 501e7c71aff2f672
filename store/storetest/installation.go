package storetest

import (
	"sync"
	"testing"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/store"
)

func init() { register("InstallationValues", testInstallationValues) }

func testInstallationValues(t *testing.T, setup func(*testing.T) *testBundle) {
	t.Run("FirstWriterWins", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		mustRead(t, b, func(tx store.Tx) error {
			if _, err := tx.FindInstallationValue(b.ctx, "k"); tender.ErrorCode(err) != tender.ENOTFOUND {
				t.Errorf("unknown name: %v", err)
			}
			return nil
		})
		// Concurrent writers each offer their own value; all get one.
		var wg sync.WaitGroup
		got := make([]string, 8)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := b.store.Write(b.ctx, func(tx store.Tx) (err error) {
					got[i], err = tx.PutInstallationValue(b.ctx, "k", string(rune('a'+i)))
					return err
				})
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		for i := range got {
			if got[i] != got[0] || got[0] == "" {
				t.Fatalf("writers got different values: %q", got)
			}
		}
		mustRead(t, b, func(tx store.Tx) error {
			v, err := tx.FindInstallationValue(b.ctx, "k")
			if err != nil || v != got[0] {
				t.Errorf("Find = %q, %v; want %q", v, err, got[0])
			}
			return nil
		})
	})
}
