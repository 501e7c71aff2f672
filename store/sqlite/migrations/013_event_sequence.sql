-- 013: events carry a sequence number in commit order, and the dispatcher
-- keeps one cursor row (event_dispatch.through) instead of marking every
-- event dispatched. The single writer assigns seq (max + 1) inside its
-- transaction, so a higher seq is always committed later; claiming a batch
-- reads the events past the cursor and moves it, without rewriting each
-- event's row or keeping an index of undispatched events.
--
-- Existing rows are copied dispatched first: the first COUNT(dispatched)
-- sequence numbers are behind the cursor, the rest ahead of it.
CREATE TABLE events_seq (
	seq         INTEGER PRIMARY KEY,
	id          TEXT NOT NULL UNIQUE,
	account_id  TEXT NOT NULL,
	mode        TEXT NOT NULL,
	type        TEXT NOT NULL,
	object_id   TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
INSERT INTO events_seq (id, account_id, mode, type, object_id, created_at, data)
	SELECT id, account_id, mode, type, object_id, created_at, data FROM events ORDER BY dispatched DESC, id;
CREATE TABLE event_dispatch (
	one     INTEGER PRIMARY KEY CHECK (one = 1),
	through INTEGER NOT NULL
);
INSERT INTO event_dispatch (one, through) SELECT 1, COUNT(*) FROM events WHERE dispatched = 1;
DROP TABLE events;
ALTER TABLE events_seq RENAME TO events;
CREATE INDEX events_scope ON events (account_id, mode, id);
