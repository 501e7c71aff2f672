-- 010: disputes and payouts. A payout pays out the settled merchant-facing
-- ledger transactions no payout has paid yet; ledger_transactions_unpaid
-- holds exactly those, so finding them never scans an account's history.
CREATE TABLE disputes (
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
CREATE INDEX disputes_scope ON disputes (account_id, mode, id);
CREATE INDEX disputes_status ON disputes (account_id, mode, status, id);
CREATE UNIQUE INDEX disputes_payment ON disputes (payment_id);

CREATE TABLE payouts (
	id              TEXT PRIMARY KEY,
	organization_id TEXT NOT NULL,
	account_id      TEXT NOT NULL,
	mode            TEXT NOT NULL,
	currency        TEXT NOT NULL,
	payout_number   INTEGER NOT NULL,
	status          TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	data            TEXT NOT NULL
);
CREATE INDEX payouts_scope ON payouts (account_id, mode, id);
CREATE INDEX payouts_status ON payouts (account_id, mode, status, id);
CREATE INDEX payouts_organization ON payouts (organization_id, mode, id);
CREATE INDEX payouts_organization_status ON payouts (organization_id, mode, status, id);
CREATE UNIQUE INDEX payouts_number ON payouts (account_id, mode, payout_number);

CREATE INDEX ledger_transactions_unpaid ON ledger_transactions (account_id, mode, currency, id)
	WHERE payout_id IS NULL AND source_type <> '' AND settlement_status = 'settled';
