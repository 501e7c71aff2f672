-- 005: OAuth scopes of HighLevel tokens, space-separated.
ALTER TABLE credentials ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
