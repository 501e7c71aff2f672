-- 002: the event log, webhook endpoints, deliveries and their attempts.
CREATE TABLE events (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	mode        TEXT NOT NULL,
	type        TEXT NOT NULL,
	object_id   TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	dispatched  BIGINT NOT NULL DEFAULT 0,
	data        TEXT NOT NULL
);
CREATE INDEX events_scope ON events (account_id, mode, id);
CREATE INDEX events_undispatched ON events (dispatched, id);

CREATE TABLE webhook_endpoints (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	mode        TEXT NOT NULL,
	dialect     TEXT NOT NULL,
	enabled     BIGINT NOT NULL,
	deleted     BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_scope ON webhook_endpoints (account_id, mode, id);

CREATE TABLE deliveries (
	id           TEXT COLLATE "C" PRIMARY KEY,
	event_id     TEXT COLLATE "C" NOT NULL,
	endpoint_id  TEXT COLLATE "C" NOT NULL,
	account_id   TEXT COLLATE "C" NOT NULL,
	mode         TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed', 'cancelled')),
	attempts     BIGINT NOT NULL,
	next_at      BIGINT NOT NULL,
	locked_until BIGINT NOT NULL,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	data         TEXT NOT NULL,
	UNIQUE (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE delivery_attempts (
	id          TEXT COLLATE "C" PRIMARY KEY,
	delivery_id TEXT COLLATE "C" NOT NULL,
	endpoint_id TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, id);
CREATE INDEX delivery_attempts_endpoint ON delivery_attempts (endpoint_id, id);
