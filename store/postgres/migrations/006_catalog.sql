-- 006: the catalog: products, prices, coupons and coupon redemptions.
-- Rows are never removed: deleted = 1 hides a product, price or coupon from
-- lists while orders that used it still find it by id.
CREATE TABLE products (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	name_lower  TEXT NOT NULL,
	deleted     BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX products_account ON products (account_id, deleted, id);

CREATE TABLE prices (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	product_id  TEXT COLLATE "C" NOT NULL,
	deleted     BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	updated_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX prices_product ON prices (account_id, product_id, deleted, id);

CREATE TABLE coupons (
	id           TEXT COLLATE "C" PRIMARY KEY,
	account_id   TEXT COLLATE "C" NOT NULL,
	code_lower   TEXT NOT NULL,
	name_lower   TEXT NOT NULL,
	start_at     BIGINT NOT NULL,
	end_at       BIGINT,
	usage_limit  BIGINT NOT NULL,
	usage_count  BIGINT NOT NULL DEFAULT 0,
	deleted      BIGINT NOT NULL DEFAULT 0,
	created_at   BIGINT NOT NULL,
	updated_at   BIGINT NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX coupons_account ON coupons (account_id, deleted, id);
CREATE UNIQUE INDEX coupons_code ON coupons (account_id, code_lower) WHERE deleted = 0;

CREATE TABLE coupon_redemptions (
	id          TEXT COLLATE "C" PRIMARY KEY,
	account_id  TEXT COLLATE "C" NOT NULL,
	coupon_id   TEXT COLLATE "C" NOT NULL,
	contact_id  TEXT COLLATE "C" NOT NULL,
	created_at  BIGINT NOT NULL,
	data        TEXT NOT NULL
);
CREATE INDEX coupon_redemptions_contact ON coupon_redemptions (coupon_id, contact_id);
