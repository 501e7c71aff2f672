package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api/forhopp"
	"github.com/tenderpay/tender/api/forward"
	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/notify"
	"github.com/tenderpay/tender/server"
	"github.com/tenderpay/tender/store"
	"github.com/tenderpay/tender/webhook"
)

const webhooksUsage = `usage:
  tender webhooks [--db URL] redeliver  --account ID --mode test|live (--event ID | --failed-since RFC3339)
  tender webhooks [--db URL] deliveries --account ID --mode test|live --endpoint ID [--limit N]
  tender webhooks [--db URL] endpoints  --account ID --mode test|live [--dialect forward|highlevel|forhopp] create --url URL --events a,b|* [--description D]
  tender webhooks [--db URL] endpoints  --account ID --mode test|live [--dialect forward|highlevel|forhopp] list
  tender webhooks [--db URL] endpoints  --account ID --mode test|live [--dialect forward|highlevel|forhopp] enable|disable|delete --endpoint ID

redeliver queues deliveries again; a running server sends them on its next poll.
deliveries prints an endpoint's deliveries, newest first, one JSON object a line,
each with its attempts (status, latency, response excerpt or error).
`

// runWebhooks is "tender webhooks": manual redelivery and the delivery log.
func runWebhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("webhooks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, webhooksUsage) }
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("webhooks: name a subcommand: redeliver, deliveries or endpoints")
	}
	sub, rest := fs.Arg(0), fs.Args()[1:]
	sfs := flag.NewFlagSet("webhooks "+sub, flag.ContinueOnError)
	sfs.SetOutput(stderr)
	sfs.Usage = fs.Usage
	accountID := sfs.String("account", "", "the account's id (acct_…)")
	mode := sfs.String("mode", "", "test or live")
	var eventID, failedSince, endpointID *string
	var limit *int
	switch sub {
	case "redeliver":
		eventID = sfs.String("event", "", "redeliver this event to every endpoint subscribed to it")
		failedSince = sfs.String("failed-since", "", "redeliver every failed delivery created since this RFC 3339 time")
	case "deliveries":
		endpointID = sfs.String("endpoint", "", "the endpoint's id (we_…)")
		limit = sfs.Int("limit", 100, "how many deliveries to print")
	case "endpoints":
		return runEndpoints(ctx, c, sfs, accountID, mode, rest, stdout)
	default:
		fs.Usage()
		return fmt.Errorf("webhooks: unknown subcommand %q", sub)
	}
	if err := sfs.Parse(rest); err != nil {
		return err
	}
	if *accountID == "" || !tender.Mode(*mode).Valid() {
		return errors.New("webhooks: --account and --mode test|live are required")
	}
	if err := c.Validate(); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	sc := tender.Scope{AccountID: *accountID, Mode: tender.Mode(*mode)}
	if err := st.Read(ctx, func(tx store.Tx) error {
		_, err := tx.FindAccountByID(ctx, sc.AccountID)
		return err
	}); err != nil {
		return fmt.Errorf("webhooks: %s", tender.ErrorMessage(err))
	}
	out := json.NewEncoder(stdout)
	if sub == "deliveries" {
		if *endpointID == "" {
			return errors.New("webhooks deliveries: --endpoint is required")
		}
		return printDeliveries(ctx, st, sc, *endpointID, *limit, out)
	}

	e := webhook.New(st, nil, webhook.Options{})
	e.Register(forward.NewWebhookDialect(st, nil))
	e.Register(&highlevel.WebhookDialect{})
	e.Register(forhopp.NewWebhookDialect())
	var n int
	switch {
	case (*eventID == "") == (*failedSince == ""):
		return errors.New("webhooks redeliver: give one of --event or --failed-since")
	case *eventID != "":
		n, err = e.Redeliver(ctx, sc, *eventID)
	default:
		since, perr := time.Parse(time.RFC3339, *failedSince)
		if perr != nil {
			return fmt.Errorf("webhooks redeliver: --failed-since: %w", perr)
		}
		n, err = e.RedeliverFailed(ctx, sc, since)
	}
	if err != nil {
		if tender.ErrorCode(err) != tender.EINTERNAL {
			return fmt.Errorf("webhooks redeliver: %s", tender.ErrorMessage(err))
		}
		return err
	}
	return out.Encode(map[string]int{"redelivered": n})
}

// deliveryLine is one line of the delivery log.
type deliveryLine struct {
	*tender.Delivery
	AttemptLog []*tender.DeliveryAttempt `json:"attempt_log"`
}

func printDeliveries(ctx context.Context, st store.Store, sc tender.Scope, endpointID string, limit int, out *json.Encoder) error {
	var lines []deliveryLine
	err := st.Read(ctx, func(tx store.Tx) error {
		lines = nil
		if _, err := tx.FindWebhookEndpointByID(ctx, sc, endpointID); err != nil {
			return err
		}
		p := tender.Page{Limit: min(limit, 100)}
		for len(lines) < limit {
			ds, more, err := tx.ListDeliveriesByEndpoint(ctx, sc, endpointID, p)
			if err != nil {
				return err
			}
			for _, d := range ds {
				as, _, err := tx.ListDeliveryAttempts(ctx, endpointID, d.ID, tender.Page{Limit: 100})
				if err != nil {
					return err
				}
				if as == nil {
					as = []*tender.DeliveryAttempt{}
				}
				lines = append(lines, deliveryLine{Delivery: d, AttemptLog: as})
			}
			if !more || len(ds) == 0 {
				break
			}
			p.StartingAfter = ds[len(ds)-1].ID
		}
		return nil
	})
	if err != nil {
		if tender.ErrorCode(err) == tender.ENOTFOUND {
			return fmt.Errorf("webhooks deliveries: %s", tender.ErrorMessage(err))
		}
		return err
	}
	for i, l := range lines {
		if i == limit {
			break
		}
		if err := out.Encode(l); err != nil {
			return err
		}
	}
	return nil
}

// runEndpoints is "tender webhooks endpoints": the endpoint API's rules
// (notify), from the command line, for any dialect; forhopp endpoints are
// made only here until the forhopp dialect's /v1/webhooks exists. A new endpoint's secret is printed
// once.
func runEndpoints(ctx context.Context, c *server.Config, fs *flag.FlagSet, accountID, mode *string, args []string, stdout io.Writer) error {
	dialect := fs.String("dialect", "forward", "the endpoint's dialect: forward, highlevel or forhopp")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch *dialect {
	case forward.DialectName, highlevel.DialectName, forhopp.DialectName:
	default:
		return fmt.Errorf("webhooks endpoints: --dialect must be forward, highlevel or forhopp, not %q", *dialect)
	}
	if *accountID == "" || !tender.Mode(*mode).Valid() || fs.NArg() == 0 {
		return errors.New("webhooks endpoints: --account, --mode test|live and an action (create, list, enable, disable, delete) are required")
	}
	action, rest := fs.Arg(0), fs.Args()[1:]
	afs := flag.NewFlagSet("webhooks endpoints "+action, flag.ContinueOnError)
	afs.SetOutput(fs.Output())
	url := afs.String("url", "", "the endpoint's URL (create)")
	events := afs.String("events", "*", "comma-separated event names of the dialect, or * (create)")
	description := afs.String("description", "", "a description (create)")
	endpointID := afs.String("endpoint", "", "the endpoint's id (enable, disable, delete)")
	if err := afs.Parse(rest); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	secret, err := c.LoadSecret()
	if err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	svc, err := notify.New(st, secret)
	if err != nil {
		return err
	}
	svc.AllowPrivate = c.WebhooksAllowPrivate
	sc := tender.Scope{AccountID: *accountID, Mode: tender.Mode(*mode)}
	if err := st.Read(ctx, func(tx store.Tx) error {
		_, err := tx.FindAccountByID(ctx, sc.AccountID)
		return err
	}); err != nil {
		return fmt.Errorf("webhooks endpoints: %s", tender.ErrorMessage(err))
	}
	var d notify.Dialect = forward.NewWebhookDialect(st, nil)
	switch *dialect {
	case highlevel.DialectName:
		d = &highlevel.WebhookDialect{Keys: &highlevel.KeySource{Store: st, Master: secret}}
	case forhopp.DialectName:
		d = forhopp.NewWebhookDialect()
	}
	out := json.NewEncoder(stdout)
	fail := func(err error) error {
		if tender.ErrorCode(err) != tender.EINTERNAL {
			return fmt.Errorf("webhooks endpoints %s: %s", action, tender.ErrorMessage(err))
		}
		return err
	}
	switch action {
	case "create":
		created, err := svc.Create(ctx, sc, d, notify.EndpointParams{URL: *url, Events: strings.Split(*events, ","), Description: *description})
		if err != nil {
			return fail(err)
		}
		return out.Encode(map[string]any{"id": created.Endpoint.ID, "url": created.Endpoint.URL, "events": created.Endpoint.Events,
			"enabled": created.Endpoint.Enabled, "secret": created.Secret})
	case "list":
		page := tender.Page{Limit: 100}
		for {
			eps, more, err := svc.List(ctx, sc, d, page)
			if err != nil {
				return fail(err)
			}
			for _, ep := range eps {
				if err := out.Encode(map[string]any{"id": ep.ID, "url": ep.URL, "events": ep.Events, "enabled": ep.Enabled,
					"disabled_reason": ep.DisabledReason, "description": ep.Description}); err != nil {
					return err
				}
			}
			if !more || len(eps) == 0 {
				return nil
			}
			page.StartingAfter = eps[len(eps)-1].ID
		}
	case "enable", "disable":
		if *endpointID == "" {
			return errors.New("webhooks endpoints: --endpoint is required")
		}
		enabled := action == "enable"
		ep, err := svc.Update(ctx, sc, d, *endpointID, notify.EndpointUpdate{Enabled: &enabled})
		if err != nil {
			return fail(err)
		}
		return out.Encode(map[string]any{"id": ep.ID, "enabled": ep.Enabled})
	case "delete":
		if *endpointID == "" {
			return errors.New("webhooks endpoints: --endpoint is required")
		}
		ep, err := svc.Delete(ctx, sc, d, *endpointID)
		if err != nil {
			return fail(err)
		}
		return out.Encode(map[string]any{"id": ep.ID, "deleted": true})
	}
	return fmt.Errorf("webhooks endpoints: unknown action %q (create, list, enable, disable, delete)", action)
}
