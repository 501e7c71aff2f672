-- 014: leaner delivery indexes for the batched delivery path. Every attempt
-- rewrites its delivery row, and a row whose state or next_at changes gets
-- a new entry in every index of the table: keeping only pending rows in the
-- due index (and only failed ones in the redelivery index) makes a finished
-- delivery cost no entry there and keeps the claim's index scan short.
-- Lookups by event use the unique (event_id, endpoint_id) index, so the
-- event_id index only cost writes. Events are claimed for fan-out through
-- an index of the undispatched ones alone, likewise.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE state = 'pending';
CREATE INDEX deliveries_failed ON deliveries (account_id, mode, id) WHERE state = 'failed';
DROP INDEX deliveries_event;
DROP INDEX events_undispatched;
CREATE INDEX events_undispatched ON events (id) WHERE dispatched = 0;
-- Room on each page for the lease updates (locked_until, in no index) to
-- stay on the page as heap-only tuples.
ALTER TABLE deliveries SET (fillfactor = 80);
