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

// TestDecodeEvent reads back what encodeEvent and json.Marshal write, the
// same as json.Unmarshal does, through the fast path or the fallback.
func TestDecodeEvent(t *testing.T) {
	odd := sampleEvent(t)
	odd.ID, odd.Type, odd.AccountID = "evt_\"odd\\", "a<b>&\n\u00e9", "acct_\u2028"
	nested := sampleEvent(t)
	nested.Object = json.RawMessage(`{"created_at":"2020-01-01T00:00:00Z","x":{"object":1,"created_at":"y"}}`)
	for _, e := range []*tender.Event{sampleEvent(t), odd, nested} {
		enc, err := encodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		marshalled, _ := json.Marshal(e)
		for _, doc := range []string{enc, string(marshalled), string(marshalled[:len(marshalled)-1]) + ` }`} {
			want := new(tender.Event)
			if err := json.Unmarshal([]byte(doc), want); err != nil {
				t.Fatal(err)
			}
			got, err := decodeEvent(doc)
			if err != nil {
				t.Fatalf("decodeEvent(%s): %v", doc, err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("decodeEvent(%s) differs from json.Unmarshal (-want +got):\n%s", doc, d)
			}
		}
	}
	if _, ok := decodeEventFast(`{"id":"evt_1","account_id":"a","mode":"test","type":"t","object_type":"o","object_id":"x","object":{},"created_at":"nope"}`); ok {
		t.Error("the fast path accepted a bad timestamp")
	}
	if _, err := decodeEvent(`{"id":"evt_1","object":`); err == nil {
		t.Error("decodeEvent accepted a truncated document")
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	doc, _ := encodeEvent(sampleEvent(b))
	b.Run("json.Unmarshal", func(b *testing.B) {
		for b.Loop() {
			var e tender.Event
			json.Unmarshal([]byte(doc), &e)
		}
	})
	b.Run("decodeEvent", func(b *testing.B) {
		for b.Loop() {
			decodeEvent(doc)
		}
	})
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
