-- 008: HighLevel payment providers. Custom providers are keyed by
-- (account, marketplace app) among undeleted rows; their API keys are
-- sealed, in columns beside the JSON document so that the document never
-- holds them. White-label providers have a unique name per account.
-- HighLevel tokens may name a marketplace app.
ALTER TABLE credentials ADD COLUMN app_id TEXT NOT NULL DEFAULT '';

CREATE TABLE custom_providers (
	id                  TEXT COLLATE "C" PRIMARY KEY,
	account_id          TEXT COLLATE "C" NOT NULL,
	app_id              TEXT COLLATE "C" NOT NULL,
	deleted             BIGINT NOT NULL DEFAULT 0,
	live_connected_at   BIGINT NOT NULL DEFAULT 0,
	test_connected_at   BIGINT NOT NULL DEFAULT 0,
	live_api_key_sealed TEXT NOT NULL DEFAULT '',
	test_api_key_sealed TEXT NOT NULL DEFAULT '',
	created_at          BIGINT NOT NULL,
	updated_at          BIGINT NOT NULL,
	data                TEXT NOT NULL
);
CREATE UNIQUE INDEX custom_providers_app ON custom_providers (account_id, app_id) WHERE deleted = 0;

CREATE TABLE white_label_providers (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	unique_name TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE UNIQUE INDEX white_label_providers_name ON white_label_providers (account_id, unique_name);
CREATE INDEX white_label_providers_scope ON white_label_providers (account_id, id);
