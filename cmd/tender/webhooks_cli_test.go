package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestWebhooksEndpointsCLI manages an endpoint from the command line: create
// (its secret printed once), list, disable, enable, delete; bad input is
// refused with the field named.
func TestWebhooksEndpointsCLI(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "t.db")
	env := func(string) string { return "" }
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"init", "--db", db, "--json"}, env, &out, &errOut); code != 0 {
		t.Fatalf("init: %d %s", code, errOut.String())
	}
	var boot struct {
		AccountID string `json:"account_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &boot); err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) (string, int) {
		out.Reset()
		errOut.Reset()
		full := append([]string{"webhooks", "--db", db, "endpoints", "--account", boot.AccountID, "--mode", "test"}, args...)
		code := run(ctx, full, env, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	got, code := cli("create", "--url", "https://hooks.example.com/tender", "--events", "v2.payment_intent.captured,v2.refund.created")
	if code != 0 || !strings.Contains(got, `"secret":"whsec_`) {
		t.Fatalf("create: %d %s", code, got)
	}
	var ep struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(got), &ep); err != nil || ep.ID == "" {
		t.Fatalf("create output: %v %s", err, got)
	}
	if got, code := cli("list"); code != 0 || !strings.Contains(got, ep.ID) || strings.Contains(got, "whsec_") {
		t.Fatalf("list: %d %s", code, got)
	}
	if got, code := cli("disable", "--endpoint", ep.ID); code != 0 || !strings.Contains(got, `"enabled":false`) {
		t.Fatalf("disable: %d %s", code, got)
	}
	if got, code := cli("enable", "--endpoint", ep.ID); code != 0 || !strings.Contains(got, `"enabled":true`) {
		t.Fatalf("enable: %d %s", code, got)
	}
	if got, code := cli("delete", "--endpoint", ep.ID); code != 0 || !strings.Contains(got, `"deleted":true`) {
		t.Fatalf("delete: %d %s", code, got)
	}
	if got, code := cli("list"); code != 0 || strings.Contains(got, ep.ID) {
		t.Fatalf("list after delete: %d %s", code, got)
	}
	if got, code := cli("create", "--url", "http://127.0.0.1:9/x"); code == 0 || !strings.Contains(got, "url") {
		t.Fatalf("a loopback URL without --webhooks-allow-private: %d %s", code, got)
	}
	if got, code := cli("create", "--url", "https://hooks.example.com/x", "--events", "v2.nope"); code == 0 || !strings.Contains(got, "events") {
		t.Fatalf("an unknown event name: %d %s", code, got)
	}
}

// TestWebhooksEndpointsCLIHighLevel keeps HighLevel and forhopp endpoints
// apart from Forward ones: each dialect lists only its own.
func TestWebhooksEndpointsCLIHighLevel(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "t.db")
	env := func(string) string { return "" }
	ctx := context.Background()
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"init", "--db", db, "--json"}, env, &out, &errOut); code != 0 {
		t.Fatalf("init: %d %s", code, errOut.String())
	}
	var boot struct {
		AccountID string `json:"account_id"`
	}
	if err := json.Unmarshal(out.Bytes(), &boot); err != nil {
		t.Fatal(err)
	}
	cli := func(dialect string, args ...string) (string, int) {
		out.Reset()
		errOut.Reset()
		full := append([]string{"webhooks", "--db", db, "endpoints", "--account", boot.AccountID, "--mode", "live", "--dialect", dialect}, args...)
		code := run(ctx, full, env, &out, &errOut)
		return out.String() + errOut.String(), code
	}
	got, code := cli("highlevel", "create", "--url", "https://hooks.example.com/hl")
	if code != 0 || strings.Contains(got, "whsec_") {
		t.Fatalf("create: %d %s", code, got)
	}
	var ep struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(got), &ep); err != nil || ep.ID == "" {
		t.Fatalf("create output: %v %s", err, got)
	}
	if got, code := cli("highlevel", "list"); code != 0 || !strings.Contains(got, ep.ID) {
		t.Fatalf("highlevel list: %d %s", code, got)
	}
	if got, code := cli("forward", "list"); code != 0 || strings.Contains(got, ep.ID) {
		t.Fatalf("forward list shows a highlevel endpoint: %d %s", code, got)
	}
	if got, code := cli("stripe", "list"); code == 0 || !strings.Contains(got, "--dialect") {
		t.Fatalf("unknown dialect: %d %s", code, got)
	}

	// forhopp endpoints are made here until forhopp's /v1/webhooks exists:
	// forhopp's event names, an fhwh_ secret shown once.
	got, code = cli("forhopp", "create", "--url", "https://hooks.example.com/fh", "--events", "charge.completed,charge.refunded,invoice.paid")
	var fh struct {
		ID     string   `json:"id"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if code != 0 || json.Unmarshal([]byte(got), &fh) != nil || !strings.HasPrefix(fh.Secret, "fhwh_") || len(fh.Events) != 3 {
		t.Fatalf("forhopp create: %d %s", code, got)
	}
	if got, code := cli("forhopp", "list"); code != 0 || !strings.Contains(got, fh.ID) || strings.Contains(got, ep.ID) || strings.Contains(got, "fhwh_") {
		t.Fatalf("forhopp list: %d %s", code, got)
	}
	if got, code := cli("forward", "list"); code != 0 || strings.Contains(got, fh.ID) {
		t.Fatalf("forward list shows a forhopp endpoint: %d %s", code, got)
	}
	if got, code := cli("forhopp", "create", "--url", "https://hooks.example.com/fh", "--events", "v2.payment.captured"); code == 0 || !strings.Contains(got, "events") {
		t.Fatalf("a Forward event name on a forhopp endpoint: %d %s", code, got)
	}
}
