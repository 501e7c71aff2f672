package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenderpay/tender/account"
)

// lockedBuffer is a bytes.Buffer safe for the server's concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env returns a getenv over m alone, so that the caller's environment
// never leaks into a test.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// runCmd runs the command line args and returns its exit code and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr lockedBuffer
	code := run(ctx, args, env(nil), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	if want := "tender " + version() + "\n"; out != want {
		t.Fatalf("version printed %q, want %q", out, want)
	}
}

func TestUnknownCommand(t *testing.T) {
	code, out, errOut := runCmd(t, "frobnicate")
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if out != "" || !strings.Contains(errOut, `unknown command "frobnicate"`) || !strings.Contains(errOut, "usage:") {
		t.Fatalf("stdout %q stderr %q", out, errOut)
	}
	if code, _, _ := runCmd(t); code != 2 {
		t.Fatalf("no command: exit %d, want 2", code)
	}
}

func TestBadFlag(t *testing.T) {
	if code, _, _ := runCmd(t, "migrate", "--no-such-flag"); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if code, _, errOut := runCmd(t, "migrate", "--db", "mysql://x"); code != 1 || !strings.Contains(errOut, "--db") {
		t.Fatalf("bad --db: exit %d, stderr %q", code, errOut)
	}
}

func TestInitJSON(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCmd(t, "init", "--db", "sqlite:"+filepath.Join(dir, "x.db"), "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got struct {
		OrganizationID string `json:"organization_id"`
		AccountID      string `json:"account_id"`
		Forward        map[string]struct {
			PrivateKey string `json:"private_key"`
			PublicKey  string `json:"public_key"`
		} `json:"forward"`
		HighLevel struct {
			CompanyID  string `json:"company_id"`
			LocationID string `json:"location_id"`
			Token      string `json:"token"`
		} `json:"highlevel"`
	}
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not a JSON object: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("stdout holds more than one JSON value:\n%s", out)
	}
	if got.OrganizationID == "" || got.AccountID == "" {
		t.Fatalf("missing ids: %s", out)
	}
	keys := map[string]bool{}
	for _, mode := range []string{"test", "live"} {
		k, ok := got.Forward[mode]
		if !ok || k.PrivateKey == "" || k.PublicKey == "" || k.PrivateKey == k.PublicKey {
			t.Fatalf("forward.%s keys missing or equal: %s", mode, out)
		}
		keys[k.PrivateKey], keys[k.PublicKey] = true, true
	}
	if len(keys) != 4 {
		t.Fatalf("the four keys are not distinct: %s", out)
	}
	if hl := got.HighLevel; hl.CompanyID != got.OrganizationID || hl.LocationID != got.AccountID || !strings.HasPrefix(hl.Token, "hl_loc_") {
		t.Fatalf("highlevel member: %+v", hl)
	}

	// A second init makes a second organization.
	code, out2, _ := runCmd(t, "init", "--db", "sqlite:"+filepath.Join(dir, "x.db"), "--json")
	if code != 0 || out2 == out || !strings.Contains(out2, `"organization_id"`) {
		t.Fatalf("second init: exit %d, %s", code, out2)
	}
}

func TestMigrate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	for i := 0; i < 2; i++ { // a second run has nothing to do and still succeeds
		code, out, errOut := runCmd(t, "migrate", "--db", db)
		if code != 0 {
			t.Fatalf("run %d: exit %d: %s", i, code, errOut)
		}
		if !strings.Contains(out, "sqlite database is migrated") {
			t.Fatalf("run %d: stdout %q", i, out)
		}
	}
}

// serveRun is a `tender serve` running in a goroutine.
type serveRun struct {
	cancel context.CancelFunc
	code   chan int
	lines  chan string // stdout, line by line, closed when run returns
	stdout []string
	stderr *lockedBuffer
}

func startServe(t *testing.T, getenv func(string) string, args ...string) *serveRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &serveRun{cancel: cancel, code: make(chan int, 1), lines: make(chan string, 1024), stderr: &lockedBuffer{}}
	go func() {
		code := run(ctx, append([]string{"serve"}, args...), getenv, pw, s.stderr)
		pw.Close()
		s.code <- code
	}()
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-s.code:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	return s
}

var servingLine = regexp.MustCompile(`serving on (http://127\.0\.0\.1:\d+) \(sqlite\)`)

// waitServing reads stdout up to the "serving on" line and returns the URL.
func (s *serveRun) waitServing(t *testing.T) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-s.lines:
			if !ok {
				t.Fatalf("serve ended before serving; stdout:\n%s\nstderr:\n%s", strings.Join(s.stdout, "\n"), s.stderr)
			}
			s.stdout = append(s.stdout, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		case <-timeout:
			t.Fatalf("no serving line; stdout:\n%s", strings.Join(s.stdout, "\n"))
		}
	}
}

// stop cancels serve's context and returns its exit code and the rest of stdout.
func (s *serveRun) stop(t *testing.T) (int, string) {
	t.Helper()
	s.cancel()
	var rest []string
	for line := range s.lines {
		rest = append(rest, line)
	}
	select {
	case code := <-s.code:
		s.code <- code // for the cleanup
		return code, strings.Join(rest, "\n")
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after cancel")
		return 0, ""
	}
}

// field returns the value printed after label on a credentials line.
func field(t *testing.T, lines []string, label string) string {
	t.Helper()
	re := regexp.MustCompile(`^\s+` + regexp.QuoteMeta(label) + `\s+(\S+)$`)
	var found []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			found = append(found, m[1])
		}
	}
	if len(found) != 1 {
		t.Fatalf("%q printed %d times, want once:\n%s", label, len(found), strings.Join(lines, "\n"))
	}
	return found[0]
}

func TestServe(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "serve.db")
	getenv := env(map[string]string{"TENDER_LOG_LEVEL": "warn"})

	s := startServe(t, getenv, "--addr", "127.0.0.1:0", "--db", db)
	url := s.waitServing(t)
	out := strings.Join(s.stdout, "\n")
	if n := strings.Count(out, "shown only this once"); n != 1 {
		t.Fatalf("credentials banner printed %d times:\n%s", n, out)
	}
	account := field(t, s.stdout, "account")
	key := field(t, s.stdout, "test private key")
	for _, label := range []string{"organization", "test public key", "live private key", "live public key"} {
		field(t, s.stdout, label)
	}

	req, err := http.NewRequest(http.MethodPost, url+"/payment_intents", strings.NewReader(`{"amount":1000,"currency":"USD"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", key)
	req.Header.Set("x-account-id", account)
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-idempotency-key", "serve-test-0001")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /payment_intents: %d %s", resp.StatusCode, body)
	}
	var pi struct {
		ID     string `json:"id"`
		Amount int64  `json:"amount"`
	}
	if err := json.Unmarshal(body, &pi); err != nil || !strings.HasPrefix(pi.ID, "pi_") || pi.Amount != 1000 {
		t.Fatalf("unexpected intent %s (%v)", body, err)
	}

	code, rest := s.stop(t)
	if code != 0 {
		t.Fatalf("serve exited %d; stderr:\n%s", code, s.stderr)
	}
	if !strings.Contains(rest, "shutting down") {
		t.Fatalf("no shutdown line after cancel: %q", rest)
	}
	if _, err := os.Stat(filepath.Join(dir, "serve.db.secret")); err != nil {
		t.Fatalf("secret file beside the database: %v", err)
	}

	// The same database again: no new organization, so no credentials.
	s2 := startServe(t, getenv, "--addr", "127.0.0.1:0", "--db", db)
	s2.waitServing(t)
	code, rest = s2.stop(t)
	all := strings.Join(s2.stdout, "\n") + "\n" + rest
	if code != 0 {
		t.Fatalf("second serve exited %d; stderr:\n%s", code, s2.stderr)
	}
	if strings.Contains(all, "shown only this once") || strings.Contains(all, "private key") {
		t.Fatalf("second serve printed credentials:\n%s", all)
	}
}

func TestServeEnv(t *testing.T) {
	// TENDER_ADDR and TENDER_DB configure serve when no flag is given.
	dir := t.TempDir()
	getenv := env(map[string]string{"TENDER_ADDR": "127.0.0.1:0", "TENDER_DB": "sqlite:" + filepath.Join(dir, "env.db"), "TENDER_LOG_LEVEL": "error"})
	s := startServe(t, getenv)
	s.waitServing(t)
	if code, _ := s.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, s.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "env.db")); err != nil {
		t.Fatalf("TENDER_DB was not used: %v", err)
	}
}

// benchLine matches a scenario's result line.
var benchLine = regexp.MustCompile(`(?m)^(create|flow)\s+requests/s\s+([0-9.]+) \((\d+) requests.*errors (\d+)`)

func checkBench(t *testing.T, out string) {
	t.Helper()
	m := benchLine.FindAllStringSubmatch(out, -1)
	if len(m) != 2 {
		t.Fatalf("want a create and a flow line:\n%s", out)
	}
	for _, l := range m {
		if l[4] != "0" {
			t.Errorf("%s: %s errors", l[1], l[4])
		}
		if l[3] == "0" {
			t.Errorf("%s: no requests completed", l[1])
		}
	}
	if !strings.Contains(out, "flows/s") {
		t.Errorf("no flows/s in:\n%s", out)
	}
}

func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("bench smoke test skipped in -short mode")
	}
	code, out, errOut := runCmd(t, "bench", "--duration", "1s", "--warmup", "0", "--conns", "4")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkBench(t, out)
	if !strings.Contains(out, "engine sqlite (synchronous=full)") {
		t.Errorf("engine not reported:\n%s", out)
	}
}

// TestBenchHTTPFloor runs create beside the HTTP floor server: both answer
// every request, and the summary compares them.
func TestBenchHTTPFloor(t *testing.T) {
	if testing.Short() {
		t.Skip("bench smoke test skipped in -short mode")
	}
	code, out, errOut := runCmd(t, "bench", "--scenario", "create", "--http-floor", "--duration", "1s", "--warmup", "0", "--conns", "4")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	floor := regexp.MustCompile(`(?m)^http-floor\s+requests/s\s+([0-9.]+) \((\d+) requests.*errors 0  engine none`).FindStringSubmatch(out)
	if floor == nil || floor[2] == "0" {
		t.Fatalf("no http-floor line with requests and no errors:\n%s", out)
	}
	if !strings.Contains(out, "of the floor)") {
		t.Errorf("no comparison with the floor:\n%s", out)
	}
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "--scenario", "nope"},
		{"bench", "--conns", "0"},
		{"bench", "--duration", "0s"},
		{"bench", "--compare-stripe-mock", "http://example.com:12111"},
	} {
		if code, _, _ := runCmd(t, args...); code != 1 {
			t.Errorf("%v: exit %d, want 1", args, code)
		}
	}
	if code, _, _ := runCmd(t, "bench", "-h"); code != 0 {
		t.Errorf("bench -h: exit %d, want 0", code)
	}
}

func TestBenchPostgres(t *testing.T) {
	base := os.Getenv("TENDER_TEST_POSTGRES_URL")
	if base == "" {
		t.Skip("TENDER_TEST_POSTGRES_URL is not set; skipping the PostgreSQL run")
	}
	if testing.Short() {
		t.Skip("bench smoke test skipped in -short mode")
	}
	code, out, errOut := runCmd(t, "bench", "--db", base, "--duration", "1s", "--warmup", "0", "--conns", "4")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	checkBench(t, out)
	if !strings.Contains(out, "engine postgres") {
		t.Errorf("engine not reported:\n%s", out)
	}
}

func TestTokensCreate(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	code, out, errOut := runCmd(t, "init", "--db", db, "--json")
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errOut)
	}
	var boot struct {
		AccountID string `json:"account_id"`
	}
	if err := json.Unmarshal([]byte(out), &boot); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd(t, "tokens", "create", "--db", db, "--account", boot.AccountID, "--scopes", "payments/orders.readonly, products.readonly")
	token := strings.TrimSpace(out)
	if code != 0 || !regexp.MustCompile(`^hl_loc_[0-9A-Za-z]{40}$`).MatchString(token) {
		t.Fatalf("tokens create: exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	code, out, _ = runCmd(t, "tokens", "create", "--db", db, "--account", boot.AccountID, "--scopes", "products.write", "--company", "--json")
	var co struct {
		Token  string   `json:"token"`
		Scopes []string `json:"scopes"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &co) != nil || !strings.HasPrefix(co.Token, "hl_co_") || len(co.Scopes) != 1 {
		t.Fatalf("tokens create --company --json: exit %d, %s", code, out)
	}
	// --app names the token's marketplace app; without it, the default app.
	code, out, _ = runCmd(t, "tokens", "create", "--db", db, "--account", boot.AccountID, "--scopes", "payments/custom-provider.write",
		"--app", "my-app_1", "--json")
	var app struct {
		Token string `json:"token"`
		AppID string `json:"app_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &app) != nil || app.AppID != "my-app_1" {
		t.Fatalf("tokens create --app --json: exit %d, %s", code, out)
	}
	if !strings.Contains(out, `"app_id"`) || strings.Contains(out, account.DefaultHighLevelAppID) {
		t.Errorf("tokens create --app --json: %s", out)
	}
	for _, bad := range [][]string{
		{"tokens", "create", "--db", db, "--account", boot.AccountID, "--scopes", "products.write", "--app", "bad app!"},
		{"tokens", "create", "--db", db, "--account", boot.AccountID, "--scopes", "payments/everything"},
		{"tokens", "create", "--db", db, "--account", boot.AccountID},
		{"tokens", "create", "--db", db, "--scopes", "products.write"},
		{"tokens", "create", "--db", db, "--account", "acct_nope", "--scopes", "products.write"},
		{"tokens"},
	} {
		if code, out, errOut := runCmd(t, bad...); code == 0 || out != "" || errOut == "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", bad, code, out, errOut)
		}
	}
	// The database holds the tokens' hashes only.
	raw, err := os.ReadFile(strings.TrimPrefix(db, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(strings.TrimPrefix(db, "sqlite:") + "-wal")
	if bytes.Contains(raw, []byte(token)) || bytes.Contains(wal, []byte(token)) || bytes.Contains(raw, []byte(co.Token)) || bytes.Contains(wal, []byte(co.Token)) {
		t.Fatal("a token is stored in clear")
	}
}
