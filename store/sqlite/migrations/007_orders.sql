-- 007: orders (with their product index, fulfillments and notes),
-- transactions (the HighLevel view of every payment, with day counters for
-- exact counts) and subscriptions.
CREATE TABLE orders (
	id             TEXT PRIMARY KEY,
	account_id     TEXT NOT NULL,
	mode           TEXT NOT NULL,
	status         TEXT NOT NULL,
	payment_status TEXT NOT NULL,
	contact_id     TEXT NOT NULL,
	source_id      TEXT NOT NULL,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	version        INTEGER NOT NULL DEFAULT 0,
	data           TEXT NOT NULL
);
CREATE INDEX orders_created ON orders (account_id, created_at, id, mode);
CREATE INDEX orders_status ON orders (account_id, status, created_at, id, mode);
CREATE INDEX orders_payment_status ON orders (account_id, payment_status, created_at, id, mode);
CREATE INDEX orders_contact ON orders (account_id, contact_id, created_at, id);
CREATE INDEX orders_source ON orders (account_id, source_id, created_at, id);

CREATE TABLE order_products (
	account_id TEXT NOT NULL,
	product_id TEXT NOT NULL,
	order_id   TEXT NOT NULL,
	PRIMARY KEY (account_id, product_id, order_id)
) WITHOUT ROWID;

CREATE TABLE fulfillments (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	mode       TEXT NOT NULL,
	order_id   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX fulfillments_order ON fulfillments (order_id, id);

CREATE TABLE order_notes (
	id         TEXT PRIMARY KEY,
	account_id TEXT NOT NULL,
	mode       TEXT NOT NULL,
	order_id   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);
CREATE INDEX order_notes_order ON order_notes (order_id, id);

-- One row per payment. Secondary indexes end with the columns list
-- filters test (mode, sub type), so a page is found in the index alone.
CREATE TABLE transactions (
	id              TEXT PRIMARY KEY,
	status          TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	mode            TEXT NOT NULL,
	entity_id       TEXT NOT NULL,
	contact_id      TEXT NOT NULL,
	source_type     TEXT NOT NULL,
	source_sub_type TEXT NOT NULL,
	subscription_id TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	data            TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX transactions_created ON transactions (account_id, created_at, id, mode);
CREATE INDEX transactions_source ON transactions (account_id, source_type, created_at, id, mode, source_sub_type);
CREATE INDEX transactions_sub_source ON transactions (account_id, source_sub_type, created_at, id, mode);
CREATE INDEX transactions_entity ON transactions (account_id, entity_id, created_at, id);
CREATE INDEX transactions_contact ON transactions (account_id, contact_id, created_at, id);
CREATE INDEX transactions_subscription ON transactions (account_id, subscription_id, created_at, id);

-- Transactions counted per UTC day, mode and source, so that a list's exact
-- total over a large account sums a few rows instead of counting millions.
-- shard spreads concurrent increments of one day over several rows.
CREATE TABLE transaction_counts (
	account_id      TEXT NOT NULL,
	day             INTEGER NOT NULL,
	mode            TEXT NOT NULL,
	source_type     TEXT NOT NULL,
	source_sub_type TEXT NOT NULL,
	shard           INTEGER NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (account_id, day, mode, source_type, source_sub_type, shard)
) WITHOUT ROWID;

CREATE TABLE subscriptions (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	mode        TEXT NOT NULL,
	status      TEXT NOT NULL,
	entity_id   TEXT NOT NULL,
	contact_id  TEXT NOT NULL,
	source_type TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	version     INTEGER NOT NULL DEFAULT 0,
	data        TEXT NOT NULL
);
CREATE INDEX subscriptions_created ON subscriptions (account_id, created_at, id, mode);
CREATE INDEX subscriptions_entity ON subscriptions (account_id, entity_id, created_at, id);
CREATE INDEX subscriptions_contact ON subscriptions (account_id, contact_id, created_at, id);

-- The words of each order's, transaction's and subscription's searchable
-- text (contact name and email, item or source names, ids), lower case,
-- so that a search finds its candidates by word prefix in this index
-- instead of scanning an account's rows.
CREATE TABLE search_terms (
	account_id TEXT NOT NULL,
	kind       TEXT NOT NULL,
	term       TEXT NOT NULL,
	id         TEXT NOT NULL,
	PRIMARY KEY (account_id, kind, term, id)
) WITHOUT ROWID;
-- A search's other words are checked per candidate.
CREATE INDEX search_terms_id ON search_terms (id, term);

-- Payments made before this migration become transactions too (none of
-- them can pay an order, which did not exist yet); the next change of a
-- payment rewrites its document in full.
INSERT INTO transactions (id, status, account_id, mode, entity_id, contact_id, source_type, source_sub_type, subscription_id, created_at, updated_at, data)
SELECT id, status, account_id, mode, '', '', '', '', '', created_at, updated_at,
	json_object('id', id, 'account_id', account_id, 'mode', mode, 'payment_intent_id', payment_intent_id,
		'payment_method_id', json_extract(data, '$.payment_method_id'), 'status', status,
		'amount', json_extract(data, '$.amount'), 'amount_captured', json_extract(data, '$.amount_captured'),
		'amount_refunded', json_extract(data, '$.amount_refunded'), 'currency', json_extract(data, '$.currency'),
		'contact', json_object(), 'source', json_object('type', '', 'id', ''),
		'provider_type', CASE WHEN json_extract(data, '$.external') THEN 'external' ELSE 'tender' END,
		'charge_id', id,
		'created_at', strftime('%Y-%m-%dT%H:%M:%fZ', created_at / 1000000.0, 'unixepoch'),
		'updated_at', strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000000.0, 'unixepoch'))
FROM payments;
INSERT INTO transaction_counts (account_id, day, mode, source_type, source_sub_type, shard, n)
SELECT account_id, created_at / 86400000000, mode, '', '', 0, COUNT(*) FROM payments
GROUP BY account_id, created_at / 86400000000, mode;
