package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/account"
	"github.com/tenderpay/tender/server"
)

const tokensUsage = `usage: tender tokens create --account ID --scopes a,b[,…] [--company] [--app ID] [--json] [--db URL]

Mints a HighLevel bearer token for an account (a HighLevel location) holding
the given OAuth scopes, and prints it once; tender keeps only its hash.
With --company the token is a company token, which may act for every
account of the account's organization by naming it in altId/locationId.
With --app the token belongs to that HighLevel marketplace app (custom
provider configurations are kept per location and app); without it, to
the default app, ` + account.DefaultHighLevelAppID + `.

Scopes: ` + "%s" + `
`

func runTokens(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	usage := fmt.Sprintf(tokensUsage, strings.Join(account.HighLevelScopes, ", "))
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, usage)
		return errors.New("tokens: expected the subcommand create")
	}
	fs := flag.NewFlagSet("tokens create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	c, err := configFlags(fs, getenv)
	if err != nil {
		return err
	}
	acct := fs.String("account", "", "the account (HighLevel location) id")
	scopes := fs.String("scopes", "", "comma-separated OAuth scopes")
	company := fs.Bool("company", false, "mint a company token")
	app := fs.String("app", "", "the marketplace app id (default "+account.DefaultHighLevelAppID+")")
	asJSON := fs.Bool("json", false, "print {\"token\", \"account_id\", \"scopes\"} as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *acct == "" {
		return errors.New("tokens create: --account is required")
	}
	var list []string
	for _, s := range strings.Split(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	if err := account.CheckHighLevelScopes(list); err != nil {
		return fmt.Errorf("tokens create: %w", err)
	}
	if *app != "" {
		if err := account.CheckHighLevelAppID(*app); err != nil {
			return fmt.Errorf("tokens create: --app: %s", tender.ErrorMessage(err))
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	st, err := server.OpenStore(ctx, c.DB, false, *c)
	if err != nil {
		return err
	}
	defer st.Close()
	token, err := account.New(st).CreateHighLevelAppToken(ctx, *acct, *company, *app, list)
	if err != nil {
		return fmt.Errorf("tokens create: %w", err)
	}
	if *asJSON {
		appID := *app
		if appID == "" {
			appID = account.DefaultHighLevelAppID
		}
		return json.NewEncoder(stdout).Encode(map[string]any{"token": token, "account_id": *acct, "scopes": list, "company": *company,
			"app_id": appID})
	}
	fmt.Fprintln(stdout, token)
	return nil
}
