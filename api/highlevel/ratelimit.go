package highlevel

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tenderpay/tender"
)

// RateLimit is HighLevel's documented limit: Burst requests per Interval and
// Daily requests per day, counted per credential and location.
type RateLimit struct {
	Burst    int
	Interval time.Duration
	Daily    int
}

// DefaultRateLimit is HighLevel's: 100 requests per 10 s, 200,000 per day.
var DefaultRateLimit = RateLimit{Burst: 100, Interval: 10 * time.Second, Daily: 200_000}

// Limiter counts requests in fixed windows, in memory: each tender process
// keeps its own counts (several processes sharing a PostgreSQL database
// each allow the full limit).
type Limiter struct {
	limit RateLimit
	now   func() time.Time

	mu      sync.Mutex
	windows map[string]*window
}

type window struct {
	start time.Time // of the burst window
	n     int
	day   time.Time // UTC midnight of the daily window
	daily int
}

// NewLimiter returns a limiter enforcing l.
func NewLimiter(l RateLimit) *Limiter {
	return &Limiter{limit: l, now: time.Now, windows: make(map[string]*window)}
}

// Allow counts one request of key, sets the X-RateLimit-* headers on h and
// returns ERATELIMIT when the burst or the daily limit is spent.
func (l *Limiter) Allow(key string, h http.Header) error {
	now := l.now()
	day := now.UTC().Truncate(24 * time.Hour)
	l.mu.Lock()
	if len(l.windows) > 100_000 {
		for k, w := range l.windows { // drop windows that cannot matter any more
			if now.Sub(w.start) >= l.limit.Interval && !w.day.Equal(day) {
				delete(l.windows, k)
			}
		}
	}
	w := l.windows[key]
	if w == nil {
		w = &window{start: now, day: day}
		l.windows[key] = w
	}
	if now.Sub(w.start) >= l.limit.Interval {
		w.start, w.n = now, 0
	}
	if !w.day.Equal(day) {
		w.day, w.daily = day, 0
	}
	allowed := w.n < l.limit.Burst && w.daily < l.limit.Daily
	if allowed {
		w.n++
		w.daily++
	}
	remaining, dailyRemaining := l.limit.Burst-w.n, l.limit.Daily-w.daily
	reset := w.day.Add(24 * time.Hour)
	l.mu.Unlock()

	h.Set("X-RateLimit-Limit-Daily", strconv.Itoa(l.limit.Daily))
	h.Set("X-RateLimit-Daily-Remaining", strconv.Itoa(dailyRemaining))
	h.Set("X-RateLimit-Daily-Reset", strconv.FormatInt(reset.UnixMilli(), 10))
	h.Set("X-RateLimit-Interval-Milliseconds", strconv.FormatInt(l.limit.Interval.Milliseconds(), 10))
	h.Set("X-RateLimit-Max", strconv.Itoa(l.limit.Burst))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	if !allowed {
		if dailyRemaining <= 0 {
			return tender.Errorf(tender.ERATELIMIT, "daily request limit of %d exceeded", l.limit.Daily)
		}
		return tender.Errorf(tender.ERATELIMIT, "too many requests: at most %d per %s", l.limit.Burst, l.limit.Interval)
	}
	return nil
}
