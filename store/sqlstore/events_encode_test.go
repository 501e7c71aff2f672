package sqlstore

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tenderpay/tender"
)

func sampleEvent(t testing.TB) *tender.Event {
	pi := &tender.PaymentIntent{ID: "pi_01jd0000000000000000000000", AccountID: "acct_1", Mode: tender.ModeTest, Amount: 1234,
		Currency: "USD", Status: "created", Description: strings.Repeat("a <b> & \"c\" ", 20), ReferenceID: "ord_1"}
	obj, err := json.Marshal(pi)
	if err != nil {
		t.Fatal(err)
	}
	return &tender.Event{ID: "evt_01jd000000000000000000", AccountID: "acct_1", Mode: tender.ModeTest, Type: "payment_intent.created",
		ObjectType: "payment_intent", ObjectID: pi.ID, Object: obj, CreatedAt: time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC)}
}

// TestEncodeEvent holds encodeEvent to json.Marshal's output, byte for byte,
// including ids that need escaping, and refuses a snapshot that is not JSON.
func TestEncodeEvent(t *testing.T) {
	for _, e := range []*tender.Event{sampleEvent(t), func() *tender.Event {
		e := sampleEvent(t)
		e.ID, e.Type, e.AccountID = "evt_\"odd\\", "a<b>&\n\u00e9", "acct_\u2028"
		return e
	}()} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), got); d != "" {
			t.Errorf("encodeEvent differs from json.Marshal (-want +got):\n%s", d)
		}
	}
	e := sampleEvent(t)
	e.Object = json.RawMessage(`{"id":`)
	if _, err := encodeEvent(e); err == nil {
		t.Error("encodeEvent accepted a snapshot that is not JSON")
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	e := sampleEvent(b)
	b.Run("json.Marshal", func(b *testing.B) {
		for b.Loop() {
			marshal(e)
		}
	})
	b.Run("encodeEvent", func(b *testing.B) {
		for b.Loop() {
			encodeEvent(e)
		}
	})
}
