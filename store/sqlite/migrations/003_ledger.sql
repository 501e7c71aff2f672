-- 003: the double-entry ledger (transactions, their entries, maintained
-- balances) and per-account money-movement settings. Entries are
-- append-only: triggers refuse to update or delete them, to delete a
-- transaction or to change what it moved.
CREATE TABLE ledger_transactions (
	id                TEXT PRIMARY KEY,
	account_id        TEXT NOT NULL,
	mode              TEXT NOT NULL,
	kind              TEXT NOT NULL,
	source_type       TEXT NOT NULL,
	source_id         TEXT NOT NULL,
	root_source_id    TEXT NOT NULL,
	currency          TEXT NOT NULL,
	amount            INTEGER NOT NULL,
	fee               INTEGER NOT NULL,
	net               INTEGER NOT NULL,
	pending           INTEGER NOT NULL,
	settlement_status TEXT NOT NULL CHECK (settlement_status IN ('settled', 'unsettled')),
	available_at      INTEGER,
	settled_at        INTEGER,
	settlement_id     TEXT,
	payout_id         TEXT,
	description       TEXT NOT NULL,
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);
CREATE INDEX ledger_transactions_scope ON ledger_transactions (account_id, mode, id);
CREATE INDEX ledger_transactions_updated ON ledger_transactions (account_id, mode, updated_at);
CREATE INDEX ledger_transactions_root ON ledger_transactions (root_source_id);
CREATE INDEX ledger_transactions_due ON ledger_transactions (available_at) WHERE settlement_status = 'unsettled';
CREATE INDEX ledger_transactions_payout ON ledger_transactions (account_id, mode, payout_id, id) WHERE payout_id IS NOT NULL;

CREATE TABLE ledger_entries (
	transaction_id TEXT NOT NULL,
	seq            INTEGER NOT NULL,
	account_id     TEXT NOT NULL,
	mode           TEXT NOT NULL,
	type           TEXT NOT NULL,
	currency       TEXT NOT NULL,
	amount         INTEGER NOT NULL,
	PRIMARY KEY (transaction_id, seq)
) WITHOUT ROWID;

CREATE TABLE ledger_balances (
	account_id TEXT NOT NULL,
	mode       TEXT NOT NULL,
	currency   TEXT NOT NULL,
	type       TEXT NOT NULL,
	shard      INTEGER NOT NULL,
	balance    INTEGER NOT NULL,
	PRIMARY KEY (account_id, mode, currency, type, shard)
) WITHOUT ROWID;

CREATE TABLE account_settings (
	account_id TEXT PRIMARY KEY,
	updated_at INTEGER NOT NULL,
	data       TEXT NOT NULL
);

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are append-only'); END;
CREATE TRIGGER ledger_transactions_fixed BEFORE UPDATE OF id, account_id, mode, kind, source_type, source_id, root_source_id,
	currency, amount, fee, net, pending, available_at, created_at ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'a ledger transaction''s amounts are fixed'); END;
