-- 001: tenancy, credentials, payment objects, idempotency records, jobs.
CREATE TABLE organizations (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE accounts (
	id              TEXT PRIMARY KEY,
	organization_id TEXT NOT NULL REFERENCES organizations (id),
	name            TEXT NOT NULL,
	created_at      INTEGER NOT NULL
);
CREATE INDEX accounts_organization ON accounts (organization_id);

CREATE TABLE credentials (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL REFERENCES accounts (id),
	mode       TEXT NOT NULL CHECK (mode IN ('live', 'test')),
	kind       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	hint       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	revoked_at INTEGER
);
CREATE INDEX credentials_account ON credentials (account_id);

CREATE TABLE payment_methods (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	mode       TEXT NOT NULL,
	type       TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX payment_methods_scope ON payment_methods (account_id, mode, id);

CREATE TABLE payment_intents (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL,
	mode              TEXT NOT NULL,
	status            TEXT NOT NULL,
	settlement_status TEXT NOT NULL,
	payment_status    TEXT NOT NULL,
	amount            INTEGER NOT NULL,
	amount_refunded   INTEGER NOT NULL,
	reference_id      TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	captured_at       INTEGER,
	cancelled_at      INTEGER,
	settled_at        INTEGER,
	version           INTEGER NOT NULL DEFAULT 0,
	data              TEXT NOT NULL
);
CREATE INDEX payment_intents_scope ON payment_intents (account_id, mode, id);
CREATE INDEX payment_intents_created ON payment_intents (account_id, mode, created_at);
CREATE INDEX payment_intents_status ON payment_intents (account_id, mode, status, created_at);
CREATE INDEX payment_intents_reference ON payment_intents (account_id, mode, reference_id);

CREATE TABLE payments (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL,
	mode              TEXT NOT NULL,
	payment_intent_id TEXT NOT NULL,
	status            TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	version           INTEGER NOT NULL DEFAULT 0,
	data              TEXT NOT NULL
);
CREATE INDEX payments_intent ON payments (payment_intent_id, id);

CREATE TABLE refunds (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL,
	mode              TEXT NOT NULL,
	payment_intent_id TEXT NOT NULL,
	payment_id        TEXT NOT NULL,
	status            TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL,
	data              TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, id);
CREATE INDEX refunds_intent ON refunds (payment_intent_id, id);

CREATE TABLE idempotency_records (
	account_id   TEXT NOT NULL,
	mode         TEXT NOT NULL,
	key          TEXT NOT NULL,
	fingerprint  TEXT NOT NULL,
	status       INTEGER NOT NULL,
	content_type TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	PRIMARY KEY (account_id, mode, key)
);
CREATE INDEX idempotency_records_expires ON idempotency_records (expires_at);

CREATE TABLE jobs (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	args         TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('available', 'running', 'discarded')),
	run_at       INTEGER NOT NULL,
	attempts     INTEGER NOT NULL,
	max_attempts INTEGER NOT NULL,
	locked_until INTEGER NOT NULL,
	last_error   TEXT NOT NULL,
	unique_key   TEXT UNIQUE,
	created_at   INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

CREATE TABLE claims (
	name       TEXT PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at INTEGER NOT NULL
);
