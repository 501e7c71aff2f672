-- 006: the catalog: products, prices, coupons and coupon redemptions.
-- Rows are never removed: deleted = 1 hides a product, price or coupon from
-- lists while orders that used it still find it by id.
CREATE TABLE products (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	name_lower  TEXT NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX products_account ON products (account_id, deleted, id);

CREATE TABLE prices (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	product_id  TEXT NOT NULL,
	deleted     INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX prices_product ON prices (account_id, product_id, deleted, id);

CREATE TABLE coupons (
	id           TEXT PRIMARY KEY,
	account_id   TEXT NOT NULL,
	code_lower   TEXT NOT NULL,
	name_lower   TEXT NOT NULL,
	start_at     INTEGER NOT NULL,
	end_at       INTEGER,
	usage_limit  INTEGER NOT NULL,
	usage_count  INTEGER NOT NULL DEFAULT 0,
	deleted      INTEGER NOT NULL DEFAULT 0,
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX coupons_account ON coupons (account_id, deleted, id);
CREATE UNIQUE INDEX coupons_code ON coupons (account_id, code_lower) WHERE deleted = 0;

CREATE TABLE coupon_redemptions (
	id          TEXT PRIMARY KEY,
	account_id  TEXT NOT NULL,
	coupon_id   TEXT NOT NULL,
	contact_id  TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX coupon_redemptions_contact ON coupon_redemptions (coupon_id, contact_id);
