-- 003: the double-entry ledger (transactions, their entries, maintained
-- balances) and per-account money-movement settings. Entries are
-- append-only: triggers refuse to update, delete or truncate them, to
-- delete a transaction or to change what it moved.
CREATE TABLE ledger_transactions (
	id                TEXT COLLATE "C" PRIMARY KEY,
	account_id        TEXT COLLATE "C" NOT NULL,
	mode              TEXT NOT NULL,
	kind              TEXT NOT NULL,
	source_type       TEXT NOT NULL,
	source_id         TEXT COLLATE "C" NOT NULL,
	root_source_id    TEXT COLLATE "C" NOT NULL,
	currency          TEXT NOT NULL,
	amount            BIGINT NOT NULL,
	fee               BIGINT NOT NULL,
	net               BIGINT NOT NULL,
	pending           BIGINT NOT NULL,
	settlement_status TEXT NOT NULL CHECK (settlement_status IN ('settled', 'unsettled')),
	available_at      BIGINT,
	settled_at        BIGINT,
	settlement_id     TEXT COLLATE "C",
	payout_id         TEXT COLLATE "C",
	description       TEXT NOT NULL,
	created_at        BIGINT NOT NULL,
	updated_at        BIGINT NOT NULL
);
CREATE INDEX ledger_transactions_scope ON ledger_transactions (account_id, mode, id);
CREATE INDEX ledger_transactions_updated ON ledger_transactions (account_id, mode, updated_at);
CREATE INDEX ledger_transactions_root ON ledger_transactions (root_source_id);
CREATE INDEX ledger_transactions_due ON ledger_transactions (available_at) WHERE settlement_status = 'unsettled';
CREATE INDEX ledger_transactions_payout ON ledger_transactions (account_id, mode, payout_id, id) WHERE payout_id IS NOT NULL;

CREATE TABLE ledger_entries (
	transaction_id TEXT COLLATE "C" NOT NULL,
	seq            INTEGER NOT NULL,
	account_id     TEXT COLLATE "C" NOT NULL,
	mode           TEXT NOT NULL,
	type           TEXT COLLATE "C" NOT NULL,
	currency       TEXT COLLATE "C" NOT NULL,
	amount         BIGINT NOT NULL,
	PRIMARY KEY (transaction_id, seq)
);

CREATE TABLE ledger_balances (
	account_id TEXT COLLATE "C" NOT NULL,
	mode       TEXT COLLATE "C" NOT NULL,
	currency   TEXT COLLATE "C" NOT NULL,
	type       TEXT COLLATE "C" NOT NULL,
	shard      INTEGER NOT NULL,
	balance    BIGINT NOT NULL,
	PRIMARY KEY (account_id, mode, currency, type, shard)
);

CREATE TABLE account_settings (
	account_id TEXT COLLATE "C" PRIMARY KEY,
	updated_at BIGINT NOT NULL,
	data       TEXT NOT NULL
);

CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% on %: ledger entries and transactions are append-only', TG_OP, TG_TABLE_NAME
		USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
	FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
	FOR EACH STATEMENT EXECUTE FUNCTION ledger_append_only();
CREATE TRIGGER ledger_transactions_fixed BEFORE UPDATE OF id, account_id, mode, kind, source_type, source_id, root_source_id,
	currency, amount, fee, net, pending, available_at, created_at ON ledger_transactions
	FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
