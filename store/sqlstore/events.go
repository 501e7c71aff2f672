package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tenderpay/tender"
)

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CreateEvent inserts e.
func (t *Tx) CreateEvent(ctx context.Context, e *tender.Event) error {
	data, err := encodeEvent(e)
	if err != nil {
		return err
	}
	q := `INSERT INTO events (id, account_id, mode, type, object_id, created_at, dispatched, data) VALUES ($1, $2, $3, $4, $5, $6, 0, $7)`
	if t.d.EventSequence {
		q = `INSERT INTO events (id, account_id, mode, type, object_id, created_at, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`
	}
	_, err = t.exec(ctx, q, e.ID, e.AccountID, string(e.Mode), e.Type, e.ObjectID, micros(e.CreatedAt), data)
	return err
}

// encodeEvent renders e as json.Marshal would, without re-validating and
// compacting the snapshot: it runs in the SQLite writer for every event,
// and e.Object is json.Marshal's own output. A snapshot that is not valid
// JSON is still refused, so the log never holds a document it cannot read.
func encodeEvent(e *tender.Event) (string, error) {
	if !json.Valid(e.Object) {
		return marshal(e) // reports json.Marshal's own error
	}
	b := make([]byte, 0, len(e.Object)+256)
	b = append(b, `{"id":`...)
	b = appendString(b, e.ID)
	b = append(b, `,"account_id":`...)
	b = appendString(b, e.AccountID)
	b = append(b, `,"mode":`...)
	b = appendString(b, string(e.Mode))
	b = append(b, `,"type":`...)
	b = appendString(b, e.Type)
	b = append(b, `,"object_type":`...)
	b = appendString(b, e.ObjectType)
	b = append(b, `,"object_id":`...)
	b = appendString(b, e.ObjectID)
	b = append(b, `,"object":`...)
	b = append(b, e.Object...)
	b = append(b, `,"created_at":`...)
	ts, err := e.CreatedAt.MarshalJSON()
	if err != nil {
		return "", err
	}
	b = append(b, ts...)
	b = append(b, '}')
	return string(b), nil
}

// decodeEvent reads an event's document. Documents are written by
// encodeEvent (or, before it, json.Marshal) with the fields in one fixed
// order and the snapshot last but for created_at, so the header fields are
// read in place and the snapshot is sliced out without scanning it: the
// dispatcher reads every event in the SQLite writer. A document in any other
// shape (an escaped string, say) goes through json.Unmarshal.
func decodeEvent(data string) (*tender.Event, error) {
	if e, ok := decodeEventFast(data); ok {
		return e, nil
	}
	e := new(tender.Event)
	if err := json.Unmarshal([]byte(data), e); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeEventFast(d string) (*tender.Event, bool) {
	var e tender.Event
	var mode string
	rest := d
	for i, f := range []struct {
		key string
		dst *string
	}{{"id", &e.ID}, {"account_id", &e.AccountID}, {"mode", &mode}, {"type", &e.Type}, {"object_type", &e.ObjectType}, {"object_id", &e.ObjectID}} {
		lead := `,"` + f.key + `":"`
		if i == 0 {
			lead = `{"id":"`
		}
		if !strings.HasPrefix(rest, lead) {
			return nil, false
		}
		rest = rest[len(lead):]
		end := strings.IndexByte(rest, '"')
		if end < 0 || strings.IndexByte(rest[:end], '\\') >= 0 {
			return nil, false
		}
		*f.dst, rest = rest[:end], rest[end+1:]
	}
	const objLead, tsLead = `,"object":`, `,"created_at":"`
	if !strings.HasPrefix(rest, objLead) || !strings.HasSuffix(rest, `"}`) {
		return nil, false
	}
	rest = rest[len(objLead):]
	cut := strings.LastIndex(rest, tsLead)
	if cut <= 0 {
		return nil, false
	}
	ts, err := time.Parse(time.RFC3339Nano, rest[cut+len(tsLead):len(rest)-2])
	if err != nil {
		return nil, false
	}
	e.Mode, e.Object, e.CreatedAt = tender.Mode(mode), json.RawMessage(rest[:cut]), ts
	return &e, true
}

// appendString appends s as a JSON string. Ids and type names are plain
// ASCII and are copied as they are; anything else goes through
// encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// FindEventByID returns the event id of scope s.
func (t *Tx) FindEventByID(ctx context.Context, s tender.Scope, id string) (*tender.Event, error) {
	return getScoped(ctx, t, "event", "events", id, s, func(v *tender.Event) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ListEvents returns a newest-first page of scope s's events.
func (t *Tx) ListEvents(ctx context.Context, s tender.Scope, p tender.Page, types []string) ([]*tender.Event, bool, error) {
	q := `SELECT data FROM events WHERE account_id = $1 AND mode = $2`
	args := []any{s.AccountID, string(s.Mode)}
	if len(types) > 0 {
		ph := make([]string, len(types))
		for i, typ := range types {
			args = append(args, typ)
			ph[i] = "$" + strconv.Itoa(len(args))
		}
		q += ` AND type IN (` + strings.Join(ph, ", ") + `)`
	}
	return listPage[tender.Event](ctx, t, q, args, p)
}

// ClaimUndispatchedEvents marks up to limit undispatched events dispatched.
func (t *Tx) ClaimUndispatchedEvents(ctx context.Context, limit int) ([]*tender.Event, error) {
	if limit <= 0 {
		return nil, nil
	}
	if t.d.EventSequence {
		return t.claimEventsPastCursor(ctx, limit)
	}
	evs, err := listDocs[tender.Event](ctx, t, `UPDATE events SET dispatched = 1
		WHERE id IN (SELECT id FROM events WHERE dispatched = 0 ORDER BY id LIMIT $1`+t.d.SkipLocked+`)
		RETURNING data`, limit)
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	return evs, err
}

// claimEventsPastCursor returns up to limit events past the dispatch
// cursor, oldest first, and moves the cursor past them.
func (t *Tx) claimEventsPastCursor(ctx context.Context, limit int) ([]*tender.Event, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT seq, data FROM events
		WHERE seq > (SELECT through FROM event_dispatch WHERE one = 1) ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var evs []*tender.Event
	var last int64
	for rows.Next() {
		var data string
		if err := rows.Scan(&last, &data); err != nil {
			return nil, err
		}
		e, err := decodeEvent(data)
		if err != nil {
			return nil, err
		}
		evs = append(evs, e)
	}
	if err := rows.Err(); err != nil || len(evs) == 0 {
		return nil, err
	}
	if _, err := t.exec(ctx, `UPDATE event_dispatch SET through = $1 WHERE one = 1`, last); err != nil {
		return nil, err
	}
	sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	return evs, nil
}

// CreateWebhookEndpoint inserts ep.
func (t *Tx) CreateWebhookEndpoint(ctx context.Context, ep *tender.WebhookEndpoint) error {
	data, err := marshal(ep)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO webhook_endpoints (id, account_id, mode, dialect, enabled, deleted, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		ep.ID, ep.AccountID, string(ep.Mode), ep.Dialect, boolInt(ep.Enabled), boolInt(ep.Deleted), micros(ep.CreatedAt), micros(ep.UpdatedAt), data)
	if err == nil {
		t.seen[ep.ID] = ep
	}
	return err
}

// UpdateWebhookEndpoint overwrites ep.
func (t *Tx) UpdateWebhookEndpoint(ctx context.Context, ep *tender.WebhookEndpoint) error {
	data, err := marshal(ep)
	if err != nil {
		return err
	}
	err = t.updateScoped(ctx, "webhook endpoint", ep.ID, ep.AccountID, ep.Mode,
		`UPDATE webhook_endpoints SET enabled = $1, deleted = $2, updated_at = $3, data = $4 WHERE id = $5 RETURNING account_id, mode`,
		boolInt(ep.Enabled), boolInt(ep.Deleted), micros(ep.UpdatedAt), data, ep.ID)
	if err == nil {
		t.seen[ep.ID] = ep
	}
	return err
}

// FindWebhookEndpointByID returns the undeleted endpoint id of scope s.
func (t *Tx) FindWebhookEndpointByID(ctx context.Context, s tender.Scope, id string) (*tender.WebhookEndpoint, error) {
	ep, err := getScoped(ctx, t, "webhook endpoint", "webhook_endpoints", id, s, func(v *tender.WebhookEndpoint) (string, tender.Mode) { return v.AccountID, v.Mode })
	if err == nil && ep.Deleted {
		return nil, tender.Errorf(tender.ENOTFOUND, "webhook endpoint %s not found", id)
	}
	return ep, err
}

// ListWebhookEndpoints returns a newest-first page of scope s's undeleted endpoints.
func (t *Tx) ListWebhookEndpoints(ctx context.Context, s tender.Scope, p tender.Page) ([]*tender.WebhookEndpoint, bool, error) {
	return listPage[tender.WebhookEndpoint](ctx, t, `SELECT data FROM webhook_endpoints WHERE account_id = $1 AND mode = $2 AND deleted = 0`,
		[]any{s.AccountID, string(s.Mode)}, p)
}

// ListActiveWebhookEndpoints returns the enabled, undeleted endpoints of an account and mode.
func (t *Tx) ListActiveWebhookEndpoints(ctx context.Context, accountID string, mode tender.Mode) ([]*tender.WebhookEndpoint, error) {
	return listDocs[tender.WebhookEndpoint](ctx, t, `SELECT data FROM webhook_endpoints WHERE account_id = $1 AND mode = $2 AND enabled = 1 AND deleted = 0 ORDER BY id`,
		accountID, string(mode))
}

// CreateDelivery inserts d unless its event already has a delivery to its endpoint.
func (t *Tx) CreateDelivery(ctx context.Context, d *tender.Delivery) error {
	data, err := marshal(d)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, mode, state, attempts, next_at, locked_until, created_at, updated_at, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $11) ON CONFLICT DO NOTHING`,
		d.ID, d.EventID, d.EndpointID, d.AccountID, string(d.Mode), d.State, d.Attempts, micros(d.NextAt), micros(d.CreatedAt), micros(d.UpdatedAt), data)
	return err
}

// UpdateDelivery overwrites d and releases its lease.
func (t *Tx) UpdateDelivery(ctx context.Context, d *tender.Delivery) error {
	data, err := marshal(d)
	if err != nil {
		return err
	}
	return t.updateScoped(ctx, "delivery", d.ID, d.AccountID, d.Mode,
		`UPDATE deliveries SET state = $1, attempts = $2, next_at = $3, locked_until = 0, updated_at = $4, data = $5 WHERE id = $6 RETURNING account_id, mode`,
		d.State, d.Attempts, micros(d.NextAt), micros(d.UpdatedAt), data, d.ID)
}

// FindDeliveryByID returns the delivery id of scope s.
func (t *Tx) FindDeliveryByID(ctx context.Context, s tender.Scope, id string) (*tender.Delivery, error) {
	return getScoped(ctx, t, "delivery", "deliveries", id, s, func(v *tender.Delivery) (string, tender.Mode) { return v.AccountID, v.Mode })
}

// ClaimDueDeliveries leases up to limit due pending deliveries.
func (t *Tx) ClaimDueDeliveries(ctx context.Context, limit int, lease time.Duration) ([]*tender.Delivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := micros(t.now)
	ds, err := listDocs[tender.Delivery](ctx, t, `UPDATE deliveries SET locked_until = $1
		WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND next_at <= $2 AND locked_until <= $2
			ORDER BY next_at LIMIT $3`+t.d.SkipLocked+`)
		RETURNING data`, micros(t.now.Add(lease)), now, limit)
	sort.Slice(ds, func(i, j int) bool { return ds[i].NextAt.Before(ds[j].NextAt) })
	return ds, err
}

// ListDeliveriesByEndpoint returns a newest-first page of an endpoint's deliveries.
func (t *Tx) ListDeliveriesByEndpoint(ctx context.Context, s tender.Scope, endpointID string, p tender.Page) ([]*tender.Delivery, bool, error) {
	return listPage[tender.Delivery](ctx, t, `SELECT data FROM deliveries WHERE endpoint_id = $1 AND account_id = $2 AND mode = $3`,
		[]any{endpointID, s.AccountID, string(s.Mode)}, p)
}

// ListDeliveriesByEvent returns an event's deliveries.
func (t *Tx) ListDeliveriesByEvent(ctx context.Context, s tender.Scope, eventID string) ([]*tender.Delivery, error) {
	return listDocs[tender.Delivery](ctx, t, `SELECT data FROM deliveries WHERE event_id = $1 AND account_id = $2 AND mode = $3 ORDER BY id`,
		eventID, s.AccountID, string(s.Mode))
}

// ListFailedDeliveries returns failed deliveries of scope s created since.
func (t *Tx) ListFailedDeliveries(ctx context.Context, s tender.Scope, since time.Time, limit int) ([]*tender.Delivery, error) {
	return listDocs[tender.Delivery](ctx, t, `SELECT data FROM deliveries WHERE state = 'failed' AND account_id = $1 AND mode = $2 AND created_at >= $3
		ORDER BY id LIMIT $4`, s.AccountID, string(s.Mode), micros(since), limit)
}

// CreateDeliveryAttempt inserts a.
func (t *Tx) CreateDeliveryAttempt(ctx context.Context, a *tender.DeliveryAttempt) error {
	data, err := marshal(a)
	if err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO delivery_attempts (id, delivery_id, endpoint_id, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
		a.ID, a.DeliveryID, a.EndpointID, micros(a.CreatedAt), data)
	return err
}

// ListDeliveryAttempts returns a newest-first page of attempts.
func (t *Tx) ListDeliveryAttempts(ctx context.Context, endpointID, deliveryID string, p tender.Page) ([]*tender.DeliveryAttempt, bool, error) {
	if deliveryID != "" {
		return listPage[tender.DeliveryAttempt](ctx, t, `SELECT data FROM delivery_attempts WHERE delivery_id = $1 AND endpoint_id = $2`,
			[]any{deliveryID, endpointID}, p)
	}
	return listPage[tender.DeliveryAttempt](ctx, t, `SELECT data FROM delivery_attempts WHERE endpoint_id = $1`, []any{endpointID}, p)
}

// FindEventsByIDs returns the events of ids that exist, in no particular
// order, whatever their account and mode: the delivery engine reads the
// events of a batch of deliveries with it, and checks each against its
// delivery's scope.
func (t *Tx) FindEventsByIDs(ctx context.Context, ids []string) ([]*tender.Event, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if t.d.Arrays {
		return listDocs[tender.Event](ctx, t, `SELECT data FROM events WHERE id = ANY($1::text[])`, ids)
	}
	var out []*tender.Event
	for _, id := range ids {
		evs, err := listDocs[tender.Event](ctx, t, `SELECT data FROM events WHERE id = $1`, id)
		if err != nil {
			return nil, err
		}
		out = append(out, evs...)
	}
	return out, nil
}

// CreateDeliveries inserts ds, each unless its event already has a
// delivery to its endpoint (as CreateDelivery does).
func (t *Tx) CreateDeliveries(ctx context.Context, ds []*tender.Delivery) error {
	if !t.d.Arrays {
		for _, d := range ds {
			if err := t.CreateDelivery(ctx, d); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ds) == 0 {
		return nil
	}
	n := len(ds)
	ids, events, endpoints, accounts, modes, states, data := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	attempts, nextAt, created, updated := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, d := range ds {
		doc, err := marshal(d)
		if err != nil {
			return err
		}
		ids[i], events[i], endpoints[i], accounts[i], modes[i], states[i], data[i] = d.ID, d.EventID, d.EndpointID, d.AccountID, string(d.Mode), d.State, doc
		attempts[i], nextAt[i], created[i], updated[i] = int64(d.Attempts), micros(d.NextAt), micros(d.CreatedAt), micros(d.UpdatedAt)
	}
	_, err := t.exec(ctx, `INSERT INTO deliveries (id, event_id, endpoint_id, account_id, mode, state, attempts, next_at, locked_until, created_at, updated_at, data)
		SELECT id, event_id, endpoint_id, account_id, mode, state, attempts, next_at, 0, created_at, updated_at, data
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::text[])
			AS v(id, event_id, endpoint_id, account_id, mode, state, attempts, next_at, created_at, updated_at, data)
		ON CONFLICT DO NOTHING`,
		ids, events, endpoints, accounts, modes, states, attempts, nextAt, created, updated, data)
	return err
}

// UpdateDeliveries overwrites each of ds and releases its lease, as
// UpdateDelivery does for one; of two with the same id, the later wins. It
// returns ENOTFOUND, having changed nothing the caller may keep (the
// transaction must roll back), unless every one exists in its own scope.
func (t *Tx) UpdateDeliveries(ctx context.Context, ds []*tender.Delivery) error {
	if !t.d.Arrays {
		for _, d := range ds {
			if err := t.UpdateDelivery(ctx, d); err != nil {
				return err
			}
		}
		return nil
	}
	if len(ds) == 0 {
		return nil
	}
	// One row per id, the last given: an UPDATE … FROM joining a row twice
	// would apply either.
	last := make(map[string]*tender.Delivery, len(ds))
	for _, d := range ds {
		last[d.ID] = d
	}
	n := len(last)
	ids, states, data := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	attempts, nextAt, updated := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	for _, d := range ds {
		if last[d.ID] != d {
			continue
		}
		doc, err := marshal(d)
		if err != nil {
			return err
		}
		ids, states, data = append(ids, d.ID), append(states, d.State), append(data, doc)
		attempts, nextAt, updated = append(attempts, int64(d.Attempts)), append(nextAt, micros(d.NextAt)), append(updated, micros(d.UpdatedAt))
	}
	rows, err := t.q.QueryContext(ctx, `UPDATE deliveries AS d
		SET state = v.state, attempts = v.attempts, next_at = v.next_at, locked_until = 0, updated_at = v.updated_at, data = v.data
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[]) AS v(id, state, attempts, next_at, updated_at, data)
		WHERE d.id = v.id
		RETURNING d.id, d.account_id, d.mode`, ids, states, attempts, nextAt, updated, data)
	if err != nil {
		return t.d.InterpretError(err)
	}
	defer rows.Close()
	matched := 0
	for rows.Next() {
		var id, acct, mode string
		if err := rows.Scan(&id, &acct, &mode); err != nil {
			return err
		}
		if d := last[id]; d == nil || d.AccountID != acct || string(d.Mode) != mode {
			return tender.Errorf(tender.ENOTFOUND, "delivery %s not found (scope mismatch)", id)
		}
		matched++
	}
	if err := rows.Err(); err != nil {
		return t.d.InterpretError(err)
	}
	if matched != n {
		return tender.Errorf(tender.ENOTFOUND, "%d of %d deliveries not found", n-matched, n)
	}
	return nil
}

// CreateDeliveryAttempts inserts as.
func (t *Tx) CreateDeliveryAttempts(ctx context.Context, as []*tender.DeliveryAttempt) error {
	if !t.d.Arrays {
		for _, a := range as {
			if err := t.CreateDeliveryAttempt(ctx, a); err != nil {
				return err
			}
		}
		return nil
	}
	if len(as) == 0 {
		return nil
	}
	n := len(as)
	ids, deliveries, endpoints, data := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	created := make([]int64, n)
	for i, a := range as {
		doc, err := marshal(a)
		if err != nil {
			return err
		}
		ids[i], deliveries[i], endpoints[i], created[i], data[i] = a.ID, a.DeliveryID, a.EndpointID, micros(a.CreatedAt), doc
	}
	_, err := t.exec(ctx, `INSERT INTO delivery_attempts (id, delivery_id, endpoint_id, created_at, data)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[])`,
		ids, deliveries, endpoints, created, data)
	return err
}
