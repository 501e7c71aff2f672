-- 001: tenancy, credentials, payment objects, idempotency records, jobs.
CREATE TABLE organizations (
	id         TEXT COLLATE "C" PRIMARY KEY,
	name       TEXT COLLATE "C" NOT NULL,
	created_at BIGINT NOT NULL
);

CREATE TABLE accounts (
	id              TEXT COLLATE "C" PRIMARY KEY,
	organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id),
	name            TEXT COLLATE "C" NOT NULL,
	created_at      BIGINT NOT NULL
);
CREATE INDEX accounts_organization ON accounts (organization_id);

CREATE TABLE credentials (
	id         TEXT COLLATE "C" PRIMARY KEY,
	account_id TEXT COLLATE "C" NOT NULL REFERENCES accounts (id),
	mode       TEXT NOT NULL CHECK (mode IN ('live', 'test')),
	kind       TEXT NOT NULL,
	hash       TEXT NOT NULL UNIQUE,
	hint       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	revoked_at BIGINT
);
CREATE INDEX credentials_account ON credentials (account_id);

CREATE TABLE payment_methods (
	id         TEXT COLLATE "C" PRIMARY KEY,
	account_id TEXT COLLATE "C" NOT NULL,
	mode       TEXT NOT NULL,
	type       TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX payment_methods_scope ON payment_methods (account_id, mode, id);

CREATE TABLE payment_intents (
	id                TEXT COLLATE "C" PRIMARY KEY,
	account_id        TEXT COLLATE "C" NOT NULL,
	mode              TEXT NOT NULL,
	status            TEXT NOT NULL,
	settlement_status TEXT NOT NULL,
	payment_status    TEXT NOT NULL,
	amount            BIGINT NOT NULL,
	amount_refunded   BIGINT NOT NULL,
	reference_id      TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	captured_at       BIGINT,
	cancelled_at      BIGINT,
	settled_at        BIGINT,
	version           BIGINT NOT NULL DEFAULT 0,
	data              TEXT NOT NULL
);
CREATE INDEX payment_intents_scope ON payment_intents (account_id, mode, id);
CREATE INDEX payment_intents_created ON payment_intents (account_id, mode, created_at);
CREATE INDEX payment_intents_status ON payment_intents (account_id, mode, status, created_at);
CREATE INDEX payment_intents_reference ON payment_intents (account_id, mode, reference_id);

CREATE TABLE payments (
	id                TEXT COLLATE "C" PRIMARY KEY,
	account_id        TEXT COLLATE "C" NOT NULL,
	mode              TEXT NOT NULL,
	payment_intent_id TEXT COLLATE "C" NOT NULL,
	status            TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	version           BIGINT NOT NULL DEFAULT 0,
	data              TEXT NOT NULL
);
CREATE INDEX payments_intent ON payments (payment_intent_id, id);

CREATE TABLE refunds (
	id                TEXT COLLATE "C" PRIMARY KEY,
	account_id        TEXT COLLATE "C" NOT NULL,
	mode              TEXT NOT NULL,
	payment_intent_id TEXT COLLATE "C" NOT NULL,
	payment_id        TEXT COLLATE "C" NOT NULL,
	status            TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL,
	data              TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, id);
CREATE INDEX refunds_intent ON refunds (payment_intent_id, id);

CREATE TABLE idempotency_records (
	account_id   TEXT COLLATE "C" NOT NULL,
	mode         TEXT NOT NULL,
	key          TEXT COLLATE "C" NOT NULL,
	fingerprint  TEXT NOT NULL,
	status       BIGINT NOT NULL,
	content_type TEXT NOT NULL,
	body         BYTEA NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	PRIMARY KEY (account_id, mode, key)
);
CREATE INDEX idempotency_records_expires ON idempotency_records (expires_at);

CREATE TABLE jobs (
	id           TEXT COLLATE "C" PRIMARY KEY,
	kind         TEXT NOT NULL,
	account_id   TEXT COLLATE "C" NOT NULL,
	args         TEXT NOT NULL,
	state        TEXT NOT NULL CHECK (state IN ('available', 'running', 'discarded')),
	run_at       BIGINT NOT NULL,
	attempts     BIGINT NOT NULL,
	max_attempts BIGINT NOT NULL,
	locked_until BIGINT NOT NULL,
	last_error   TEXT NOT NULL,
	unique_key   TEXT COLLATE "C" UNIQUE,
	created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- Claims are leases on in-flight work: they need not survive a crash, so
-- the table skips the WAL.
CREATE UNLOGGED TABLE claims (
	name       TEXT COLLATE "C" PRIMARY KEY,
	owner      TEXT NOT NULL,
	expires_at BIGINT NOT NULL
);
