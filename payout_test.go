package tender_test

import (
	"testing"
	"time"

	"github.com/tenderpay/tender"
)

func TestParsePayoutSchedule(t *testing.T) {
	for s, want := range map[string]time.Duration{"daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour, "manual": 0, "6h": 6 * time.Hour, "1s": time.Second} {
		if got, err := tender.ParsePayoutSchedule(s); err != nil || got != want {
			t.Errorf("ParsePayoutSchedule(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "hourly", "500ms", "-1h", "0s"} {
		if _, err := tender.ParsePayoutSchedule(s); tender.ErrorCode(err) != tender.EINVALID || tender.ErrorFields(err)["payout_schedule"] == "" {
			t.Errorf("ParsePayoutSchedule(%q): error %v, want EINVALID naming payout_schedule", s, err)
		}
	}
	// Periods start at 00:00 UTC, and a week on Monday.
	at := time.Date(2025, 6, 5, 17, 4, 0, 0, time.UTC) // a Thursday
	if got := at.Truncate(24 * time.Hour); !got.Equal(time.Date(2025, 6, 5, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("daily period starts %v", got)
	}
	if got := at.Truncate(7 * 24 * time.Hour); got.Weekday() != time.Monday || !got.Equal(time.Date(2025, 6, 2, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("weekly period starts %v (%v)", got, got.Weekday())
	}
}
