-- 013: on SQLite, events gain a commit-order sequence and a dispatch cursor.
-- PostgreSQL keeps the dispatched flag: several processes commit events
-- concurrently, so no sequence they draw is in commit order, and claims use
-- FOR UPDATE SKIP LOCKED on events_undispatched instead.
SELECT 1;
