-- 004: searches sort transactions by updated_at, then id; the index holds
-- both, so a page is read in order without sorting ties.
DROP INDEX ledger_transactions_updated;
CREATE INDEX ledger_transactions_updated ON ledger_transactions (account_id, mode, updated_at, id);
