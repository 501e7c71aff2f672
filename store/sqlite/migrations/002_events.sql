-- 002: the event log, webhook endpoints, deliveries and their attempts.
CREATE TABLE events (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	mode        TEXT NOT NULL,
	type        TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	dispatched  INTEGER NOT NULL DEFAULT 0,
	data        TEXT NOT NULL
);
CREATE INDEX events_scope ON events (account_id, mode, id);
CREATE INDEX events_undispatched ON events (dispatched, id);

CREATE TABLE webhook_endpoints (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	mode        TEXT NOT NULL,
	dialect     TEXT NOT NULL,
	enabled     INTEGER NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (account_id, mode, id);

CREATE TABLE deliveries (
	id           TEXT PRIMARY KEY,
	event_id     TEXT NOT NULL,
	endpoint_id  TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	mode         TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
	attempts     INTEGER NOT NULL,
	next_at      INTEGER NOT NULL,
	locked_until INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	data         TEXT NOT NULL,
	UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE delivery_attempts (
	id          TEXT PRIMARY KEY,
	delivery_id TEXT NOT NULL,
	endpoint_id TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
CREATE INDEX delivery_attempts_endpoint ON delivery_attempts (endpoint_id, id);
