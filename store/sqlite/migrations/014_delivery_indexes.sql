-- 014: leaner delivery indexes for the batched delivery path. Every attempt
-- rewrites its delivery row: keeping only pending rows in the due index (and
-- only failed ones in the redelivery index) makes a finished delivery cost
-- no entry there and keeps the claim's index scan short. Lookups by event
-- use the unique (event_id, endpoint_id) index, so the event_id index only
-- cost writes. (Events have no dispatched flag here since 013; PostgreSQL's
-- 014 also narrows its undispatched-events index.)
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_failed ON deliveries (account_id, mode, id) WHERE state = 'failed';
DROP INDEX deliveries_event;
