// Package store defines tender's persistence contract: one Store interface
// implemented by store/sqlite (embedded, the default) and store/postgres (for
// several tender processes sharing one database), and checked by the one
// conformance suite in store/storetest.
//
// # Transactions
//
// Every command runs in one write transaction (Store.Write) holding its
// effect, its jobs, its events and its idempotency record. A function given
// to Write may run more than once (a retry after a serialization failure), so
// it must do nothing outside the transaction. On SQLite the writes of many
// concurrent commands are committed together under one fsync (group
// commit); each command still succeeds or fails alone.
//
// # Errors
//
// Find methods return tender.ENOTFOUND when no row matches the scope and id.
// Create methods return tender.ECONFLICT when a unique key is taken. Update
// methods return tender.ENOTFOUND for an id outside the object's scope, and
// may have written by then: a function given to Write must return every
// error of an Update method, so that its transaction rolls back.
package store

import (
	"context"
	"time"

	"github.com/tenderpay/tender"
)

// Store is a tender database.
type Store interface {
	// Write runs fn in a read-write transaction and commits it durably
	// before returning. fn's error rolls back its writes and is returned.
	Write(ctx context.Context, fn func(tx Tx) error) error
	// Read runs fn in a read-only transaction over a consistent snapshot.
	Read(ctx context.Context, fn func(tx Tx) error) error
	// Claim takes the in-flight lock on name, for work that spans more than
	// one transaction (an idempotent request that calls a processor). It
	// returns ECONFLICT when another holder has it. The claim lasts until
	// release (which may be called more than once) or until the holder's
	// process ends: on PostgreSQL a dead process's claim lapses within ttl
	// (the lease is renewed while the process lives); on SQLite, whose file
	// one process owns, claims are in memory and end with the process.
	Claim(ctx context.Context, name string, ttl time.Duration) (release func(), err error)
	// Engine names the engine: "sqlite" or "postgres".
	Engine() string
	// Close waits for pending writes and closes the database.
	Close() error
}

// Tx is one transaction. Its methods are named after what they do with
// domain objects; each takes the account and mode it is scoped to, so that
// no query can reach another tenant's rows.
type Tx interface {
	ProviderTx

	// Now is the time fixed for the whole transaction.
	Now() time.Time
	OrderTx

	InstallationTx
	CatalogTx

	CountOrganizations(ctx context.Context) (int, error)
	CreateOrganization(ctx context.Context, o *tender.Organization) error
	CreateAccount(ctx context.Context, a *tender.Account) error
	// FindAccountByID returns ENOTFOUND for an unknown id.
	FindAccountByID(ctx context.Context, id string) (*tender.Account, error)
	CreateCredential(ctx context.Context, c *tender.Credential) error
	// FindCredentialByHash returns ENOTFOUND when no credential has hash.
	FindCredentialByHash(ctx context.Context, hash string) (*tender.Credential, error)

	CreatePaymentMethod(ctx context.Context, pm *tender.PaymentMethod) error
	UpdatePaymentMethod(ctx context.Context, pm *tender.PaymentMethod) error
	FindPaymentMethodByID(ctx context.Context, s tender.Scope, id string) (*tender.PaymentMethod, error)

	CreatePaymentIntent(ctx context.Context, pi *tender.PaymentIntent) error
	// UpdatePaymentIntent overwrites the stored intent with pi.
	UpdatePaymentIntent(ctx context.Context, pi *tender.PaymentIntent) error
	FindPaymentIntentByID(ctx context.Context, s tender.Scope, id string) (*tender.PaymentIntent, error)
	// ListPaymentIntents returns one page, newest first, and whether more
	// lie beyond it in the direction of travel.
	ListPaymentIntents(ctx context.Context, s tender.Scope, p tender.Page) ([]*tender.PaymentIntent, bool, error)
	// SearchPaymentIntents returns the page of f's matches and whether more follow.
	SearchPaymentIntents(ctx context.Context, s tender.Scope, f tender.PaymentIntentFilter) ([]*tender.PaymentIntent, bool, error)

	CreatePayment(ctx context.Context, p *tender.Payment) error
	UpdatePayment(ctx context.Context, p *tender.Payment) error
	FindPaymentByID(ctx context.Context, s tender.Scope, id string) (*tender.Payment, error)
	ListPaymentsByIntent(ctx context.Context, s tender.Scope, intentID string, p tender.Page) ([]*tender.Payment, bool, error)

	CreateRefund(ctx context.Context, r *tender.Refund) error
	UpdateRefund(ctx context.Context, r *tender.Refund) error
	FindRefundByID(ctx context.Context, s tender.Scope, id string) (*tender.Refund, error)

	// FindIdempotencyRecord returns ENOTFOUND when no unexpired record has key.
	FindIdempotencyRecord(ctx context.Context, accountID string, mode tender.Mode, key string) (*tender.IdempotencyRecord, error)
	// PutIdempotencyRecord stores rec; ECONFLICT if its key is taken.
	PutIdempotencyRecord(ctx context.Context, rec *tender.IdempotencyRecord) error
	// DeleteExpiredIdempotencyRecords removes records expired before t and
	// returns how many.
	DeleteExpiredIdempotencyRecords(ctx context.Context, t time.Time, limit int) (int, error)

	// EnqueueJob adds a job. A job whose UniqueKey is already queued is
	// silently dropped.
	EnqueueJob(ctx context.Context, j *tender.Job) error
	// ClaimJobs leases up to limit due jobs until lease from now, so no
	// other worker takes them meanwhile, and counts an attempt on each.
	ClaimJobs(ctx context.Context, limit int, lease time.Duration) ([]*tender.Job, error)
	// CompleteJob deletes a finished job.
	CompleteJob(ctx context.Context, id string) error
	// RetryJob releases a failed job to run again at runAt.
	RetryJob(ctx context.Context, id string, runAt time.Time, lastErr string) error
	// RescheduleJob makes a recurring job available again at runAt with
	// its attempts reset.
	RescheduleJob(ctx context.Context, id string, runAt time.Time) error
	// DiscardJob keeps a job that will not be retried, for inspection.
	DiscardJob(ctx context.Context, id string, lastErr string) error
	// CountJobs counts jobs by state: "available", "running" or "discarded".
	CountJobs(ctx context.Context, state string) (int, error)

	// CreateEvent records an event; call it in the transaction of the change.
	CreateEvent(ctx context.Context, e *tender.Event) error
	FindEventByID(ctx context.Context, s tender.Scope, id string) (*tender.Event, error)
	// FindEventsByIDs returns the events of ids that exist, in no
	// particular order, whatever their account and mode: the delivery
	// engine reads the events of a batch of deliveries with it and checks
	// each against its delivery's scope. It is one query on PostgreSQL.
	FindEventsByIDs(ctx context.Context, ids []string) ([]*tender.Event, error)
	// ListEvents returns a newest-first page of scope s's events, of the
	// given core types when types is not empty.
	ListEvents(ctx context.Context, s tender.Scope, p tender.Page, types []string) ([]*tender.Event, bool, error)
	// ClaimUndispatchedEvents marks up to limit events that were not yet
	// fanned out to endpoints as dispatched, and returns them oldest first.
	// Concurrent claimers never get the same event.
	ClaimUndispatchedEvents(ctx context.Context, limit int) ([]*tender.Event, error)

	CreateWebhookEndpoint(ctx context.Context, ep *tender.WebhookEndpoint) error
	UpdateWebhookEndpoint(ctx context.Context, ep *tender.WebhookEndpoint) error
	// FindWebhookEndpointByID returns ENOTFOUND for a deleted endpoint too.
	FindWebhookEndpointByID(ctx context.Context, s tender.Scope, id string) (*tender.WebhookEndpoint, error)
	ListWebhookEndpoints(ctx context.Context, s tender.Scope, p tender.Page) ([]*tender.WebhookEndpoint, bool, error)
	// ListActiveWebhookEndpoints returns the enabled, undeleted endpoints of
	// an account and mode.
	ListActiveWebhookEndpoints(ctx context.Context, accountID string, mode tender.Mode) ([]*tender.WebhookEndpoint, error)

	// CreateDelivery adds a delivery; one of the same event to the same
	// endpoint already there makes it a no-op.
	CreateDelivery(ctx context.Context, d *tender.Delivery) error
	// CreateDeliveries adds ds as CreateDelivery adds each, in one
	// statement on PostgreSQL.
	CreateDeliveries(ctx context.Context, ds []*tender.Delivery) error
	// UpdateDelivery overwrites d and releases its lease.
	UpdateDelivery(ctx context.Context, d *tender.Delivery) error
	// UpdateDeliveries overwrites each of ds and releases its lease, in one
	// statement on PostgreSQL; of two with one id, the later wins. It
	// returns ENOTFOUND unless every one exists in its own scope (then the
	// transaction must roll back).
	UpdateDeliveries(ctx context.Context, ds []*tender.Delivery) error
	FindDeliveryByID(ctx context.Context, s tender.Scope, id string) (*tender.Delivery, error)
	// ClaimDueDeliveries leases up to limit pending deliveries that are due
	// and not leased, so that no other worker attempts them meanwhile.
	ClaimDueDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*tender.Delivery, error)
	ListDeliveriesByEndpoint(ctx context.Context, s tender.Scope, endpointID string, p tender.Page) ([]*tender.Delivery, bool, error)
	ListDeliveriesByEvent(ctx context.Context, s tender.Scope, eventID string) ([]*tender.Delivery, error)
	// ListFailedDeliveries returns up to limit failed deliveries of scope s
	// created at or after since, oldest first.
	ListFailedDeliveries(ctx context.Context, s tender.Scope, since time.Time, limit int) ([]*tender.Delivery, error)
	CreateDeliveryAttempt(ctx context.Context, a *tender.DeliveryAttempt) error
	// CreateDeliveryAttempts adds as, in one statement on PostgreSQL.
	CreateDeliveryAttempts(ctx context.Context, as []*tender.DeliveryAttempt) error
	// ListDeliveryAttempts returns a newest-first page of a delivery's
	// attempts, or of an endpoint's when deliveryID is empty.
	ListDeliveryAttempts(ctx context.Context, endpointID, deliveryID string, p tender.Page) ([]*tender.DeliveryAttempt, bool, error)

	LedgerTx
	DisputeTx
	PayoutTx
}

// IdempotencyKeyFilter is implemented by a store that can tell, without a
// query, that no unexpired idempotency record of a key exists. It may
// answer true for a key that has none; never false for one that has.
type IdempotencyKeyFilter interface {
	MayHaveIdempotencyRecord(accountID string, mode tender.Mode, key string) bool
}

// CommitNotifier is implemented by a store that can call a function after
// every successful write commit (to wake the webhook dispatcher). f must
// not block.
type CommitNotifier interface {
	OnCommit(f func())
}

// hookKey is the context key of the commit hook.
type hookKey struct{}

// CommitHook runs inside the transaction that makes a command's effect,
// with the command's result, just before the commit. The API layer uses it
// to render the response of an idempotent request and store it with the
// effect.
type CommitHook func(ctx context.Context, tx Tx, result any) error

// WithCommitHook returns a context whose commands call h in their effect's
// transaction.
func WithCommitHook(ctx context.Context, h CommitHook) context.Context {
	return context.WithValue(ctx, hookKey{}, h)
}

// RunCommitHook calls the context's commit hook, if any, with result. A
// service calls it once per command, in the transaction that makes the
// command's effect, after the effect.
func RunCommitHook(ctx context.Context, tx Tx, result any) error {
	h, _ := ctx.Value(hookKey{}).(CommitHook)
	if h == nil {
		return nil
	}
	return h(ctx, tx, result)
}
