package main

// The load driver of tender bench: a pool of sequential clients sharing one
// keep-alive HTTP transport, each recording its own latencies and errors,
// merged when the scenario ends.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"
)

// driver sends load to one base URL.
type driver struct {
	base  *url.URL
	conns int
	tr    *http.Transport
	runID string
}

func newDriver(base string, conns int) *driver {
	u, err := url.Parse(base)
	if err != nil {
		panic(err) // callers pass URLs they built or checked
	}
	tr := &http.Transport{
		Proxy:                 nil, // never through a proxy: load stays on this machine
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          conns,
		MaxIdleConnsPerHost:   conns,
		MaxConnsPerHost:       conns,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		DisableCompression:    true,
		WriteBufferSize:       8 << 10,
		ReadBufferSize:        16 << 10,
	}
	return &driver{base: u, conns: conns, tr: tr, runID: randomHex(4)}
}

func (d *driver) close() { d.tr.CloseIdleConnections() }

// forwardHeaders returns the Forward dialect's authentication headers.
func (d *driver) forwardHeaders(key, accountID string) http.Header {
	return http.Header{
		"Content-Type": {"application/json"},
		"X-Api-Key":    {key},
		"X-Account-Id": {accountID},
	}
}

// createPaymentMethod tokenizes the approving test card once, for the flow
// scenario.
func (d *driver) createPaymentMethod(ctx context.Context, auth http.Header) (string, error) {
	body := fmt.Sprintf(`{"payment_method_type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":%d,"cvv":"123"},"billing_details":{"name":"Bench"}}`,
		time.Now().Year()+5)
	b, err := d.postOnce(ctx, auth, "/payment_methods", body, "payment-method")
	if err != nil {
		return "", err
	}
	var pm struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &pm); err != nil || pm.ID == "" {
		return "", fmt.Errorf("POST /payment_methods: no id in %s", b)
	}
	return pm.ID, nil
}

// postOnce sends one set-up request (expecting 201) and returns its body.
func (d *driver) postOnce(ctx context.Context, auth http.Header, path, body, key string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base.JoinPath(path).String(), bytes.NewReader([]byte(body)))
	if err != nil {
		return nil, err
	}
	req.Header = auth.Clone()
	req.Header.Set("X-Idempotency-Key", "bench-"+d.runID+"-"+key)
	resp, err := d.tr.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusCreated {
		return nil, fmt.Errorf("POST %s: %s: %s", path, resp.Status, b)
	}
	return b, nil
}

// scenario is one kind of load. iterate runs one unit of work (a request
// or a flow) on a client and reports whether the client should go on.
type scenario struct {
	name string
	// flowSteps is the number of requests of one flow; 0 for a scenario of
	// single requests.
	flowSteps int
	// headers returns a new set of headers for one client.
	headers func() http.Header
	// idempotent says whether each request carries a fresh idempotency key.
	idempotent bool
	iterate    func(c *client) bool
}

func createScenario(auth http.Header) scenario {
	u := &url.URL{Path: "/payment_intents"}
	body := []byte(`{"amount":1000,"currency":"USD","description":"bench"}`)
	return scenario{
		name: "create", headers: auth.Clone, idempotent: true,
		iterate: func(c *client) bool {
			_, more := c.post(u, body, http.StatusCreated)
			return more
		},
	}
}

// What the flow's steps must answer, beyond their status codes.
var (
	wantUncaptured = []byte(`"status":"uncaptured"`)
	wantCaptured   = []byte(`"status":"captured"`)
	wantSucceeded  = []byte(`"status":"succeeded"`)
)

func flowScenario(auth http.Header, paymentMethodID string) scenario {
	intents := &url.URL{Path: "/payment_intents"}
	create := []byte(`{"amount":1000,"currency":"USD","capture":false,"description":"bench flow"}`)
	pay := []byte(`{"payment_method_id":"` + paymentMethodID + `"}`)
	capture := []byte(`{}`)
	refund := []byte(`{"amount":250,"reason":"requested_by_customer"}`)
	return scenario{
		name: "flow", flowSteps: 4, headers: auth.Clone, idempotent: true,
		iterate: func(c *client) bool {
			ok, more := c.post(intents, create, http.StatusCreated)
			if !ok {
				return more
			}
			id := idOf(c.resp.Bytes())
			if id == "" {
				c.fail("no id from POST /payment_intents", c.resp.String())
				return true
			}
			base := "/payment_intents/" + id
			for _, step := range []struct {
				path   string
				body   []byte
				status int
				expect []byte
			}{
				{base + "/payments", pay, http.StatusCreated, wantUncaptured},
				{base + "/capture", capture, http.StatusOK, wantCaptured},
				{base + "/refunds", refund, http.StatusCreated, wantSucceeded},
			} {
				ok, more := c.post(&url.URL{Path: step.path}, step.body, step.status)
				if !ok {
					return more
				}
				if !bytes.Contains(c.resp.Bytes(), step.expect) {
					c.fail("no "+string(step.expect)+" from POST "+patternOf(step.path), c.resp.String())
					return true
				}
			}
			c.flows++
			return true
		},
	}
}

// floorScenario sends create's requests to the HTTP floor server.
func floorScenario(auth http.Header) scenario {
	sc := createScenario(auth)
	sc.name = "http-floor"
	return sc
}

func stripeMockScenario() scenario {
	u := &url.URL{Path: "/v1/payment_intents"}
	body := []byte("amount=1000&currency=usd")
	return scenario{
		name: "stripe-mock",
		headers: func() http.Header {
			return http.Header{"Authorization": {"Bearer sk_test_123"}, "Content-Type": {"application/x-www-form-urlencoded"}}
		},
		iterate: func(c *client) bool {
			_, more := c.post(u, body, http.StatusOK)
			return more
		},
	}
}

// client is one sequential keep-alive client.
type client struct {
	ctx      context.Context
	base     *url.URL
	rt       http.RoundTripper
	header   http.Header
	keyVal   []string // the X-Idempotency-Key value slice inside header
	keyBuf   []byte
	keyLen   int // length of the key prefix in keyBuf
	seq      int64
	body     reusableBody
	resp     bytes.Buffer
	deadline time.Time

	lat      []time.Duration
	requests int64
	flows    int64
	errors   int64
	errKinds map[string]int64
	samples  map[string]string
}

// reusableBody is a request body that can be rewound for the next request
// without allocating.
type reusableBody struct{ bytes.Reader }

// Close does nothing: the bytes stay with the client.
func (*reusableBody) Close() error { return nil }

// post sends one POST and checks its status; the response body is left in
// c.resp. It reports whether the request succeeded, and whether the client
// should go on (false once the scenario's time is up).
func (c *client) post(u *url.URL, body []byte, want int) (ok, more bool) {
	start := time.Now()
	if !start.Before(c.deadline) || c.ctx.Err() != nil {
		return false, false
	}
	if c.keyVal != nil {
		c.seq++
		c.keyBuf = strconv.AppendInt(c.keyBuf[:c.keyLen], c.seq, 10)
		c.keyVal[0] = string(c.keyBuf)
	}
	c.body.Reset(body)
	target := *c.base
	target.Path = u.Path
	req := &http.Request{
		Method: http.MethodPost, URL: &target, Host: target.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: c.header, Body: &c.body, ContentLength: int64(len(body)),
		GetBody: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
	}
	req = req.WithContext(c.ctx)
	resp, err := c.rt.RoundTrip(req)
	if err != nil {
		if c.ctx.Err() != nil {
			return false, false
		}
		c.fail("transport error", err.Error())
		return false, true
	}
	c.resp.Reset()
	_, err = c.resp.ReadFrom(resp.Body)
	resp.Body.Close()
	c.lat = append(c.lat, time.Since(start))
	c.requests++
	if err != nil {
		c.fail("read error", err.Error())
		return false, true
	}
	if resp.StatusCode != want {
		c.fail("HTTP "+strconv.Itoa(resp.StatusCode)+" on POST "+patternOf(u.Path), c.resp.String())
		return false, true
	}
	return true, true
}

func (c *client) fail(kind, sample string) {
	c.errors++
	c.errKinds[kind]++
	if _, ok := c.samples[kind]; !ok {
		if len(sample) > 300 {
			sample = sample[:300] + "…"
		}
		c.samples[kind] = sample
	}
}

// patternOf turns /payment_intents/pi_x/capture into
// /payment_intents/{id}/capture, to group errors.
func patternOf(path string) string {
	parts := bytes.Split([]byte(path), []byte("/"))
	for i, p := range parts {
		if i == 2 && len(p) > 0 {
			parts[i] = []byte("{id}")
		}
	}
	return string(bytes.Join(parts, []byte("/")))
}

var idField = []byte(`"id":"`)

// idOf returns the first "id" member of a JSON object (the object's own id
// in tender's responses, which put it first), falling back to decoding.
func idOf(b []byte) string {
	if i := bytes.Index(b, idField); i >= 0 {
		rest := b[i+len(idField):]
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			return string(rest[:j])
		}
	}
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(b, &v)
	return v.ID
}

// benchResult is a scenario's merged outcome.
type benchResult struct {
	name      string
	engine    string
	flowSteps int
	elapsed   time.Duration
	requests  int64
	flows     int64
	errors    int64
	errKinds  map[string]int64
	samples   map[string]string
	lat       []time.Duration // sorted
}

func (r *benchResult) requestsPerSec() float64 { return float64(r.requests) / r.elapsed.Seconds() }
func (r *benchResult) flowsPerSec() float64    { return float64(r.flows) / r.elapsed.Seconds() }

// percentile returns the p-th percentile latency (nearest rank).
func (r *benchResult) percentile(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p/100*float64(len(r.lat))+0.5) - 1
	i = max(0, min(i, len(r.lat)-1))
	return r.lat[i]
}

func (r *benchResult) max() time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[len(r.lat)-1]
}

// printErrors lists the kinds of error with a sample response body each.
func (r *benchResult) printErrors(w io.Writer) {
	kinds := make([]string, 0, len(r.errKinds))
	for k := range r.errKinds {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, "  %s: %d × %s, e.g. %s\n", r.name, r.errKinds[k], k, r.samples[k])
	}
}

// run drives sc with d.conns clients for duration and merges what they saw.
func (d *driver) run(ctx context.Context, sc scenario, duration time.Duration) *benchResult {
	start := time.Now()
	deadline := start.Add(duration)
	clients := make([]*client, d.conns)
	var wg sync.WaitGroup
	for i := range clients {
		c := &client{
			ctx: ctx, base: d.base, rt: d.tr, header: sc.headers(), deadline: deadline,
			lat:      make([]time.Duration, 0, 4096),
			errKinds: map[string]int64{}, samples: map[string]string{},
		}
		if sc.idempotent {
			c.keyVal = []string{""}
			c.header["X-Idempotency-Key"] = c.keyVal
			c.keyBuf = fmt.Appendf(nil, "bench-%s-%s-%d-%d-", d.runID, sc.name, start.UnixNano(), i)
			c.keyLen = len(c.keyBuf)
		}
		clients[i] = c
		wg.Go(func() {
			for c.iterate(sc) {
			}
		})
	}
	wg.Wait()
	r := &benchResult{name: sc.name, flowSteps: sc.flowSteps, elapsed: time.Since(start),
		errKinds: map[string]int64{}, samples: map[string]string{}}
	n := 0
	for _, c := range clients {
		n += len(c.lat)
	}
	r.lat = make([]time.Duration, 0, n)
	for _, c := range clients {
		r.lat = append(r.lat, c.lat...)
		r.requests += c.requests
		r.flows += c.flows
		r.errors += c.errors
		for k, v := range c.errKinds {
			r.errKinds[k] += v
			if _, ok := r.samples[k]; !ok {
				r.samples[k] = c.samples[k]
			}
		}
	}
	slices.Sort(r.lat)
	return r
}

// iterate runs one unit of sc's work.
func (c *client) iterate(sc scenario) bool { return sc.iterate(c) }
