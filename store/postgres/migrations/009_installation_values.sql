-- 009: installation-wide values shared by every tender process (such as the
-- sealed webhook signing keys), written once and never changed.
CREATE TABLE installation_values (
	name       TEXT COLLATE "C" PRIMARY KEY,
	value      TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
