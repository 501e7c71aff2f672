package reliability

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, to count rows
	_ "modernc.org/sqlite"             // the sqlite driver, to count rows

	"github.com/tenderpay/tender"
)

// Crash test shape. The load phases are short so that the whole test,
// build included, stays well under a minute on two cores.
const (
	crashWorkers    = 16
	crashRounds     = 5
	crashMinUptime  = 300 * time.Millisecond
	crashMaxUptime  = 1500 * time.Millisecond
	crashTail       = 400 * time.Millisecond // load after the last restart
	crashRetryLimit = 40 * time.Second       // how long a request may stay unanswered after a restart
)

func TestCrash_SIGKILL(t *testing.T) {
	dir := t.TempDir()
	runCrash(t, "sqlite:"+filepath.Join(dir, "t.db"), nil, dir)
}

// crashSeed returns the seed of this run: TENDER_CRASH_SEED when set, so a
// failure can be replayed, else the clock.
func crashSeed(t *testing.T) uint64 {
	if s := os.Getenv("TENDER_CRASH_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("TENDER_CRASH_SEED=%q: %v", s, err)
		}
		return n
	}
	return uint64(time.Now().UnixNano())
}

// ---- the child process ----

// tenderProc is one `tender serve` child process.
type tenderProc struct {
	cmd    *exec.Cmd
	url    string
	logf   string
	exited chan struct{}

	mu    sync.Mutex
	lines []string
	ready chan struct{}
}

func (p *tenderProc) stdout() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.lines)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// childEnv is the test's environment without TENDER_* variables, so that
// only the flags configure the child.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TENDER_") {
			env = append(env, kv)
		}
	}
	return env
}

// startTender starts `tender serve` and waits until it says it is serving.
func startTender(t *testing.T, bin, dir, dbArg string, extra []string, gen int) *tenderProc {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"serve", "--addr", addr, "--db", dbArg}, extra...)
	p := &tenderProc{cmd: exec.Command(bin, args...), url: "http://" + addr, exited: make(chan struct{}), ready: make(chan struct{}),
		logf: filepath.Join(dir, fmt.Sprintf("serve-%d.log", gen))}
	p.cmd.Env = childEnv()
	logFile, err := os.Create(p.logf)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = logFile
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start tender: %v", err)
	}
	logFile.Close()
	scanDone := make(chan struct{})
	go func() {
		defer close(scanDone)
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			if strings.Contains(sc.Text(), " serving on ") {
				once.Do(func() { close(p.ready) })
			}
		}
	}()
	go func() {
		<-scanDone
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	select {
	case <-p.ready:
	case <-p.exited:
		t.Fatalf("tender serve (generation %d) exited before serving:\n%s\n%s", gen, strings.Join(p.stdout(), "\n"), tail(p.logf))
	case <-time.After(60 * time.Second):
		t.Fatalf("tender serve (generation %d) did not start within 60s:\n%s", gen, tail(p.logf))
	}
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *tenderProc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// tail returns the end of a log file, for failure messages.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// goroutines makes a running server dump its goroutines (SIGQUIT), for a
// failure message, and returns the dump without the request log lines.
func (p *tenderProc) goroutines() string {
	select {
	case <-p.exited:
		return "(the process had exited)\n" + tail(p.logf)
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.kill()
	}
	b, _ := os.ReadFile(p.logf)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, `{"time"`) || !strings.Contains(l, `"msg":"request"`) {
			out = append(out, l)
		}
	}
	dump := strings.Join(out, "\n")
	if len(dump) > 60_000 {
		dump = dump[:60_000] + "\n…"
	}
	return dump
}

var (
	bootAccountRE = regexp.MustCompile(`^\s*account\s+(acct_\S+)\s*$`)
	bootKeyRE     = regexp.MustCompile(`^\s*test private key\s+(\S+)\s*$`)
)

// bootstrapCredentials finds the account id and test private key that the
// first start prints.
func bootstrapCredentials(lines []string) (acct, key string) {
	for _, l := range lines {
		if m := bootAccountRE.FindStringSubmatch(l); m != nil {
			acct = m[1]
		}
		if m := bootKeyRE.FindStringSubmatch(l); m != nil {
			key = m[1]
		}
	}
	return acct, key
}

// ---- flows ----

// call is one request of a flow, recorded before it is first sent.
type call struct {
	flow   *flow
	step   string
	method string
	path   string
	key    string
	body   []byte

	attempts      int
	firstAnswered bool // the first attempt got an HTTP answer
	inFlight409   int  // answers "key in use", retried as unanswered
	status        int
	resp          []byte
	replayed      bool
}

// flow is one card payment: payment method, intent (capture false), pay,
// partial capture, partial refund.
type flow struct {
	id                      int
	amount, capture, refund int64
	pm, pi, pay, re         string
	calls                   []*call
	done                    bool
}

// crashRun drives flows against a server that is killed and restarted.
type crashRun struct {
	client   *http.Client
	url      atomic.Pointer[string]
	key      string
	acct     string
	stop     atomic.Bool
	deadline atomic.Int64 // unix nanos after which an unanswered request fails the test

	nextFlow   atomic.Int64
	mu         sync.Mutex
	flows      []*flow
	unanswered atomic.Int64 // requests whose first attempt got no answer
	inFlight   atomic.Int64 // "key in use" answers while retrying
}

func (r *crashRun) base() string { return *r.url.Load() }

// do sends c until it gets an answer other than "key in use", with the same
// key and body every time.
func (r *crashRun) do(c *call) error {
	var lastErr error
	for {
		c.attempts++
		rep, err := send(r.client, c.method, r.base()+c.path, c.body, fwd(r.key, r.acct, c.key))
		if c.attempts == 1 {
			c.firstAnswered = err == nil
			if err != nil {
				r.unanswered.Add(1)
			}
		}
		if err == nil && rep.Status == http.StatusConflict {
			if e, _ := envelope(rep.Body); e.Code == "idempotency_key_in_use" {
				c.inFlight409++
				r.inFlight.Add(1)
				err = fmt.Errorf("409 idempotency_key_in_use: %s", rep.Body)
			}
		}
		if err == nil {
			c.status, c.resp, c.replayed = rep.Status, rep.Body, rep.Header.Get("Idempotent-Replayed") == "true"
			return nil
		}
		lastErr = err
		if time.Now().UnixNano() > r.deadline.Load() {
			return fmt.Errorf("%s %s (key %s) still unanswered after %d attempts: %v", c.method, c.path, c.key, c.attempts, lastErr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// step records and sends one request of f and checks its status.
func (r *crashRun) step(f *flow, name, method, path string, body any, want int) (map[string]any, error) {
	c := &call{flow: f, step: name, method: method, path: path, key: fmt.Sprintf("crash-%06d-%s", f.id, name), body: mustJSON(body)}
	f.calls = append(f.calls, c)
	if err := r.do(c); err != nil {
		return nil, err
	}
	if c.status != want {
		return nil, fmt.Errorf("flow %d %s: %s %s answered %d, want %d: %s", f.id, name, method, path, c.status, want, c.resp)
	}
	var m map[string]any
	if err := json.Unmarshal(c.resp, &m); err != nil {
		return nil, fmt.Errorf("flow %d %s: %v: %s", f.id, name, err, c.resp)
	}
	return m, nil
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func num(m map[string]any, k string) int64 { n, _ := m[k].(float64); return int64(n) }

// runFlow runs one whole flow; an error means the flow could not finish.
func (r *crashRun) runFlow(f *flow) error {
	m, err := r.step(f, "pm", "POST", "/payment_methods", json.RawMessage(cardBody("4242424242424242")), 201)
	if err != nil {
		return err
	}
	f.pm = str(m, "id")
	m, err = r.step(f, "create", "POST", "/payment_intents", map[string]any{"amount": f.amount, "currency": "USD", "capture": false,
		"reference_id": fmt.Sprintf("crash-flow-%06d", f.id), "description": "crash test"}, 201)
	if err != nil {
		return err
	}
	f.pi = str(m, "id")
	m, err = r.step(f, "pay", "POST", "/payment_intents/"+f.pi+"/payments", map[string]any{"payment_method_id": f.pm}, 201)
	if err != nil {
		return err
	}
	f.pay = str(m, "id")
	if s := str(m, "status"); s != "uncaptured" {
		return fmt.Errorf("flow %d: payment %s is %s, want uncaptured: %s", f.id, f.pay, s, f.calls[2].resp)
	}
	m, err = r.step(f, "capture", "POST", "/payment_intents/"+f.pi+"/capture", map[string]any{"amount": f.capture}, 200)
	if err != nil {
		return err
	}
	if s := str(m, "status"); s != "captured" {
		return fmt.Errorf("flow %d: intent %s is %s after capture, want captured", f.id, f.pi, s)
	}
	m, err = r.step(f, "refund", "POST", "/payment_intents/"+f.pi+"/refunds", map[string]any{"amount": f.refund, "reason": "requested_by_customer"}, 201)
	if err != nil {
		return err
	}
	f.re = str(m, "id")
	f.done = true
	return nil
}

func (r *crashRun) worker(seed uint64, w int, errs chan<- error) {
	rng := rand.New(rand.NewPCG(seed, uint64(w)))
	for !r.stop.Load() {
		f := &flow{id: int(r.nextFlow.Add(1))}
		f.amount = 1000 + rng.Int64N(99_000)
		f.capture = f.amount - rng.Int64N(f.amount/2)
		f.refund = 1 + rng.Int64N(f.capture)
		r.mu.Lock()
		r.flows = append(r.flows, f)
		r.mu.Unlock()
		if err := r.runFlow(f); err != nil {
			errs <- err
			return
		}
	}
}

// ---- the test body ----

func runCrash(t *testing.T, dbArg string, extra []string, dir string) {
	bin := tenderBinary(t)
	seed := crashSeed(t)
	t.Logf("crash seed %d (set TENDER_CRASH_SEED=%d to replay the same schedule)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	start := time.Now()

	gen := 0
	proc := startTender(t, bin, dir, dbArg, extra, gen)
	acct, key := bootstrapCredentials(proc.stdout())
	if acct == "" || key == "" {
		t.Fatalf("could not find the account id and test private key in the first start's output:\n%s", strings.Join(proc.stdout(), "\n"))
	}
	run := &crashRun{key: key, acct: acct,
		client: &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	u := proc.url
	run.url.Store(&u)
	run.deadline.Store(time.Now().Add(crashRetryLimit).UnixNano())

	errs := make(chan error, crashWorkers)
	var wg sync.WaitGroup
	for w := range crashWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run.worker(seed, w, errs)
		}()
	}

	for round := 1; round <= crashRounds; round++ {
		up := crashMinUptime + time.Duration(rng.Int64N(int64(crashMaxUptime-crashMinUptime)))
		time.Sleep(up)
		proc.kill()
		killedAt := time.Now()
		gen++
		proc = startTender(t, bin, dir, dbArg, extra, gen)
		// The workers retry against the dead address until the restarted
		// server is published.
		if a, k := bootstrapCredentials(proc.stdout()); a != "" || k != "" {
			t.Errorf("restart %d printed bootstrap credentials again: the database lost its organization", gen)
		}
		u := proc.url
		run.url.Store(&u)
		run.deadline.Store(time.Now().Add(crashRetryLimit).UnixNano())
		t.Logf("round %d: SIGKILL after %v of load (%d flows started), restarted in %v", round, up.Round(time.Millisecond),
			run.nextFlow.Load(), time.Since(killedAt).Round(time.Millisecond))
	}
	time.Sleep(crashTail)
	run.stop.Store(true)
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(crashRetryLimit + 20*time.Second):
		t.Fatalf("flows did not finish after the last restart")
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.Logf("goroutines of the last generation (SIGQUIT):\n%s", proc.goroutines())
		return
	}

	calls := 0
	retried, replayedRetries := 0, 0
	for _, f := range run.flows {
		for _, c := range f.calls {
			calls++
			if !c.firstAnswered {
				retried++
				if c.replayed {
					replayedRetries++
				}
			}
		}
	}
	t.Logf("load: %d flows, %d requests in %v; %d requests lost their answer to a kill and were retried (%d of them had committed and were replayed, %d ran anew); %d 'key in use' answers while retrying",
		len(run.flows), calls, time.Since(start).Round(time.Millisecond), retried, replayedRetries, retried-replayedRetries, run.inFlight.Load())
	if retried == 0 {
		t.Logf("note: no request was in flight at any kill; the run still checks durability of acknowledged writes")
	}

	v := &verifier{t: t, run: run, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	v.replays()
	v.objects()
	v.counts()
	v.rows(dbArg)
	v.ledger(bin, dbArg)
	if t.Failed() {
		t.Logf("goroutines of the last generation (SIGQUIT):\n%s", proc.goroutines())
	}
	t.Logf("crash test took %v", time.Since(start).Round(time.Millisecond))
}

// ---- verification ----

type verifier struct {
	t      *testing.T
	run    *crashRun
	client *http.Client
}

// parallel runs fn for each index on 16 goroutines.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func (v *verifier) get(path string) (*reply, error) {
	return send(v.client, "GET", v.run.base()+path, nil, fwd(v.run.key, v.run.acct, ""))
}

func (v *verifier) getObject(path string) (map[string]any, error) {
	r, err := v.get(path)
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", path, r.Status, r.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("GET %s: %v", path, err)
	}
	return m, nil
}

// replays sends every acknowledged request again with its key and body: the
// answer must be the stored one, byte for byte, marked as a replay.
func (v *verifier) replays() {
	var all []*call
	for _, f := range v.run.flows {
		for _, c := range f.calls {
			if c.status >= 200 && c.status < 300 {
				all = append(all, c)
			}
		}
	}
	var mu sync.Mutex
	var problems []string
	parallel(len(all), func(i int) {
		c := all[i]
		r, err := send(v.client, c.method, v.run.base()+c.path, c.body, fwd(v.run.key, v.run.acct, c.key))
		var p string
		switch {
		case err != nil:
			p = fmt.Sprintf("replay of %s %s (key %s): %v", c.method, c.path, c.key, err)
		case r.Status != c.status:
			p = fmt.Sprintf("replay of %s %s (key %s): status %d, first answer %d: %s", c.method, c.path, c.key, r.Status, c.status, r.Body)
		case string(r.Body) != string(c.resp):
			p = fmt.Sprintf("replay of %s %s (key %s) differs from the acknowledged answer:\nfirst:  %s\nreplay: %s", c.method, c.path, c.key, c.resp, r.Body)
		case r.Header.Get("Idempotent-Replayed") != "true":
			p = fmt.Sprintf("replay of %s %s (key %s) lacks Idempotent-Replayed: true", c.method, c.path, c.key)
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	report(v.t, "replay", problems)
	v.t.Logf("replayed %d acknowledged requests", len(all))
}

func report(t *testing.T, what string, problems []string) {
	t.Helper()
	slices.Sort(problems)
	for i, p := range problems {
		if i == 20 {
			t.Errorf("… and %d more %s problems", len(problems)-20, what)
			break
		}
		t.Error(p)
	}
}

// paymentLater lists the statuses a payment may reach from each status.
var paymentLater = map[string][]string{
	"pending":    {"captured", "failed"},
	"uncaptured": {"captured", "voided", "cancelled"},
}

// reachable reports whether to equals from or can follow it in table.
func reachable(table map[string][]string, from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == to {
			return true
		}
		for _, n := range table[s] {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	return false
}

// sameFields reports the first of fields on which a and b differ.
func sameFields(a, b map[string]any, fields ...string) error {
	for _, f := range fields {
		if !reflect.DeepEqual(a[f], b[f]) {
			return fmt.Errorf("field %s was %v when acknowledged, is %v now", f, a[f], b[f])
		}
	}
	return nil
}

// objects checks every acknowledged effect against the stored objects, and
// every flow's final state.
func (v *verifier) objects() {
	flows := v.run.flows
	var mu sync.Mutex
	var problems []string
	fail := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	parallel(len(flows), func(i int) {
		f := flows[i]
		if !f.done {
			fail("flow %d did not finish", f.id)
			return
		}
		acked := map[string]map[string]any{}
		for _, c := range f.calls {
			var m map[string]any
			if err := json.Unmarshal(c.resp, &m); err != nil {
				fail("flow %d %s: %v", f.id, c.step, err)
				return
			}
			acked[c.step] = m
		}
		pm, err := v.getObject("/payment_methods/" + f.pm)
		if err != nil {
			fail("flow %d: acknowledged payment method: %v", f.id, err)
			return
		}
		if !reflect.DeepEqual(pm, acked["pm"]) {
			fail("flow %d: payment method %s differs from its acknowledged state:\nacked: %v\nnow:   %v", f.id, f.pm, acked["pm"], pm)
		}
		pi, err := v.getObject("/payment_intents/" + f.pi)
		if err != nil {
			fail("flow %d: acknowledged payment intent: %v", f.id, err)
			return
		}
		for _, step := range []string{"create", "capture"} {
			a := acked[step]
			if err := sameFields(a, pi, "id", "amount", "currency", "capture", "reference_id", "created_at", "account_id"); err != nil {
				fail("flow %d: intent %s (acknowledged by %s): %v", f.id, f.pi, step, err)
			}
			if !reachable(tender.IntentTransitions, str(a, "status"), str(pi, "status")) {
				fail("flow %d: intent %s was %s when %s was acknowledged and is %s now, which cannot follow", f.id, f.pi, str(a, "status"), step, str(pi, "status"))
			}
		}
		if err := sameFields(acked["capture"], pi, "amount_authorized", "amount_captured", "amount_voided", "captured_at"); err != nil {
			fail("flow %d: intent %s after capture: %v", f.id, f.pi, err)
		}
		if num(pi, "amount_refunded") < num(acked["capture"], "amount_refunded") {
			fail("flow %d: intent %s amount_refunded went down", f.id, f.pi)
		}
		pay, err := v.getObject("/payments/" + f.pay)
		if err != nil {
			fail("flow %d: acknowledged payment: %v", f.id, err)
			return
		}
		if err := sameFields(acked["pay"], pay, "id", "amount", "payment_intent_id", "payment_method_id", "created_at", "auth_code"); err != nil {
			fail("flow %d: payment %s: %v", f.id, f.pay, err)
		}
		if !reachable(paymentLater, str(acked["pay"], "status"), str(pay, "status")) {
			fail("flow %d: payment %s was %s when acknowledged and is %s now", f.id, f.pay, str(acked["pay"], "status"), str(pay, "status"))
		}
		re, err := v.getObject("/refunds/" + f.re)
		if err != nil {
			fail("flow %d: acknowledged refund: %v", f.id, err)
			return
		}
		if !reflect.DeepEqual(re, acked["refund"]) {
			fail("flow %d: refund %s differs from its acknowledged state:\nacked: %v\nnow:   %v", f.id, f.re, acked["refund"], re)
		}

		// Final state: exactly what the flow asked for, once.
		want := map[string]int64{"amount": f.amount, "amount_authorized": f.amount, "amount_captured": f.capture,
			"amount_voided": f.amount - f.capture, "amount_refunded": f.refund}
		for k, n := range want {
			if num(pi, k) != n {
				fail("flow %d: intent %s has %s %d, want %d", f.id, f.pi, k, num(pi, k), n)
			}
		}
		if str(pi, "status") != "captured" {
			fail("flow %d: intent %s is %s, want captured", f.id, f.pi, str(pi, "status"))
		}
		if lp, _ := pi["latest_payment"].(map[string]any); str(lp, "id") != f.pay {
			fail("flow %d: intent %s latest payment is %q, want the acknowledged %s", f.id, f.pi, str(lp, "id"), f.pay)
		}
		if num(pay, "amount_captured") != f.capture || num(pay, "amount_refunded") != f.refund || str(pay, "status") != "captured" {
			fail("flow %d: payment %s is %s captured %d refunded %d, want captured %d refunded %d", f.id, f.pay,
				str(pay, "status"), num(pay, "amount_captured"), num(pay, "amount_refunded"), f.capture, f.refund)
		}
		if num(re, "amount") != f.refund || str(re, "payment_intent_id") != f.pi || str(re, "payment_id") != f.pay {
			fail("flow %d: refund %s is %v", f.id, f.re, re)
		}

		// One successful payment per intent.
		list, err := v.getObject("/payment_intents/" + f.pi + "/payments?limit=50")
		if err != nil {
			fail("flow %d: list payments: %v", f.id, err)
			return
		}
		items, _ := list["data"].([]any)
		var ids []string
		for _, it := range items {
			p, _ := it.(map[string]any)
			switch str(p, "status") {
			case "pending", "uncaptured", "captured":
				ids = append(ids, str(p, "id"))
			}
		}
		if len(ids) != 1 || ids[0] != f.pay {
			fail("flow %d: intent %s has successful payments %v, want exactly the acknowledged %s", f.id, f.pi, ids, f.pay)
		}
	})
	report(v.t, "object", problems)
}

// pageOf decodes a Forward list page.
type pageOf struct {
	Data []map[string]any `json:"data"`
	Meta struct {
		HasMore bool `json:"has_more"`
	} `json:"meta"`
}

// counts checks that list and search show each created intent exactly once,
// and no other, and that the amount invariants hold for all of them.
func (v *verifier) counts() {
	t := v.t
	created := map[string]bool{}
	creates := 0
	for _, f := range v.run.flows {
		for _, c := range f.calls {
			if c.step == "create" {
				creates++
			}
		}
		created[f.pi] = true
	}
	if len(created) != creates {
		t.Errorf("%d create requests answered with %d distinct intents", creates, len(created))
	}

	// GET /payment_intents, following starting_after.
	listed := map[string]int{}
	after := ""
	for page := 0; ; page++ {
		if page > 100_000 {
			t.Fatalf("list did not end")
		}
		path := "/payment_intents?limit=50"
		if after != "" {
			path += "&starting_after=" + after
		}
		r, err := v.get(path)
		if err != nil || r.Status != 200 {
			t.Fatalf("GET %s: %v %v", path, err, r)
		}
		var p pageOf
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatal(err)
		}
		for _, pi := range p.Data {
			listed[str(pi, "id")]++
			v.invariants(pi)
		}
		if !p.Meta.HasMore || len(p.Data) == 0 {
			break
		}
		after = str(p.Data[len(p.Data)-1], "id")
	}
	for id, n := range listed {
		if n != 1 {
			t.Errorf("list shows intent %s %d times", id, n)
		}
		if !created[id] {
			t.Errorf("list shows intent %s, which no create request was answered with (a duplicate?)", id)
		}
	}
	for id := range created {
		if listed[id] == 0 {
			t.Errorf("acknowledged intent %s is missing from the list", id)
		}
	}
	if len(listed) != creates {
		t.Errorf("list shows %d intents; %d create requests were made", len(listed), creates)
	}

	// POST /payment_intents/search, page by page.
	search := func(filter map[string]any) int {
		n := 0
		for page := 1; ; page++ {
			body := map[string]any{"limit": 50, "page": page}
			for k, v := range filter {
				body[k] = v
			}
			r, err := send(v.client, "POST", v.run.base()+"/payment_intents/search", mustJSON(body), fwd(v.run.key, v.run.acct, ""))
			if err != nil || r.Status != 200 {
				t.Fatalf("search %v: %v %v", body, err, r)
			}
			var p pageOf
			if err := json.Unmarshal(r.Body, &p); err != nil {
				t.Fatal(err)
			}
			n += len(p.Data)
			if !p.Meta.HasMore || len(p.Data) == 0 || page > 100_000 {
				return n
			}
		}
	}
	if n := search(nil); n != creates {
		t.Errorf("search finds %d intents; %d create requests were made", n, creates)
	}
	if n := search(map[string]any{"status": "captured"}); n != len(v.run.flows) {
		t.Errorf("search finds %d captured intents; %d flows captured one each", n, len(v.run.flows))
	}
	if n := search(map[string]any{"has_refund": true}); n != len(v.run.flows) {
		t.Errorf("search finds %d refunded intents; %d flows refunded one each", n, len(v.run.flows))
	}
	t.Logf("list and search show %d intents for %d create requests", len(listed), creates)
}

// invariants checks the amount rules of one intent.
func (v *verifier) invariants(pi map[string]any) {
	id := str(pi, "id")
	auth, capt, void, ref := num(pi, "amount_authorized"), num(pi, "amount_captured"), num(pi, "amount_voided"), num(pi, "amount_refunded")
	if str(pi, "status") == "captured" && capt+void != auth {
		v.t.Errorf("intent %s: amount_captured %d + amount_voided %d != amount_authorized %d", id, capt, void, auth)
	}
	if ref > capt {
		v.t.Errorf("intent %s: amount_refunded %d > amount_captured %d", id, ref, capt)
	}
	if capt > auth || auth > num(pi, "amount") {
		v.t.Errorf("intent %s: captured %d, authorized %d, amount %d out of order", id, capt, auth, num(pi, "amount"))
	}
}

// rows counts the account's rows in the database itself: each table holds
// exactly one row per flow, so no retry made a second payment method,
// intent, payment or refund that the API does not show.
func (v *verifier) rows(dbArg string) {
	t := v.t
	driver, dsn := "pgx", dbArg
	if path, ok := strings.CutPrefix(dbArg, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open the database to count rows: %v", err)
	}
	defer db.Close()
	var counts []string
	for _, table := range []string{"payment_methods", "payment_intents", "payments", "refunds"} {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM "+table+" WHERE account_id = $1", v.run.acct).Scan(&n); err != nil {
			t.Errorf("count %s: %v", table, err)
			continue
		}
		if n != len(v.run.flows) {
			t.Errorf("the database holds %d %s of the account; %d flows made one each", n, table, len(v.run.flows))
		}
		counts = append(counts, fmt.Sprintf("%d %s", n, table))
	}
	t.Logf("database rows: %s", strings.Join(counts, ", "))
}

// ledger runs `tender ledger verify` on the database the killed servers
// left behind, and checks that the ledger holds exactly one payment (the
// capture) and one refund per flow, for the flow's amounts: no retry
// after a kill posted twice, and no acknowledged capture or refund lost
// its posting.
func (v *verifier) ledger(bin, dbArg string) {
	t := v.t
	cmd := exec.Command(bin, "ledger", "verify", "--db", dbArg)
	cmd.Env = childEnv()
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "all invariants hold") {
		t.Errorf("tender ledger verify after the crashes: %v\n%s", err, out)
	} else {
		t.Logf("%s", strings.TrimSpace(string(out)))
	}
	driver, dsn := "pgx", dbArg
	if path, ok := strings.CutPrefix(dbArg, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open the database to read the ledger: %v", err)
	}
	defer db.Close()
	want := map[string][2]int64{}
	for _, f := range v.run.flows {
		w := want["payment"]
		want["payment"] = [2]int64{w[0] + 1, w[1] + f.capture}
		w = want["refund"]
		want["refund"] = [2]int64{w[0] + 1, w[1] - f.refund}
	}
	got := map[string][2]int64{}
	rows, err := db.Query(`SELECT kind, COUNT(*), CAST(SUM(amount) AS BIGINT) FROM ledger_transactions
		WHERE account_id = $1 AND kind IN ('payment', 'refund') GROUP BY kind`, v.run.acct)
	if err != nil {
		t.Fatalf("read the ledger: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n, sum int64
		if err := rows.Scan(&kind, &n, &sum); err != nil {
			t.Fatal(err)
		}
		got[kind] = [2]int64{n, sum}
	}
	for kind, w := range want {
		if got[kind] != w {
			t.Errorf("the ledger holds %d %s transactions summing to %d; the flows made %d summing to %d", got[kind][0], kind, got[kind][1], w[0], w[1])
		}
	}
	t.Logf("ledger: %d payments, %d refunds, one per flow", got["payment"][0], got["refund"][0])
}
