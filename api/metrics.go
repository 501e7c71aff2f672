package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are tender's Prometheus metrics, on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	jobs     *prometheus.CounterVec
	jobTime  *prometheus.HistogramVec
	hooks    *prometheus.HistogramVec
	hookLag  prometheus.Histogram
}

// NewMetrics registers tender's metrics and the Go runtime's.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_http_requests_total", Help: "HTTP requests by dialect, route and status code.",
		}, []string{"dialect", "route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tender_http_request_duration_seconds", Help: "HTTP request latency by dialect and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"dialect", "route"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tender_jobs_total", Help: "Jobs run by kind and outcome (done, retry, discarded).",
		}, []string{"kind", "outcome"}),
		jobTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tender_job_duration_seconds", Help: "Job run time by kind.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind"}),
	}
	m.hooks = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "tender_webhook_attempt_duration_seconds", Help: "Webhook delivery attempts by dialect and outcome, with their latency.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"dialect", "outcome"})
	m.hookLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tender_webhook_first_attempt_lag_seconds", Help: "Time from an event's commit to its first delivery attempt.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	m.Registry.MustRegister(m.requests, m.latency, m.jobs, m.jobTime, m.hooks, m.hookLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) observeRequest(dialect, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(dialect, route, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(dialect, route).Observe(d.Seconds())
}

// JobDone records a job's outcome.
func (m *Metrics) JobDone(kind, outcome string, d time.Duration) {
	m.jobs.WithLabelValues(kind, outcome).Inc()
	m.jobTime.WithLabelValues(kind).Observe(d.Seconds())
}

// WebhookAttempt records one delivery attempt.
func (m *Metrics) WebhookAttempt(dialect, outcome string, d time.Duration) {
	m.hooks.WithLabelValues(dialect, outcome).Observe(d.Seconds())
}

// WebhookLag records the time from an event's commit to its first attempt.
func (m *Metrics) WebhookLag(d time.Duration) { m.hookLag.Observe(d.Seconds()) }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
