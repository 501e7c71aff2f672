package highlevel_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tenderpay/tender"
	"github.com/tenderpay/tender/api/highlevel"
	"github.com/tenderpay/tender/catalog"
	"github.com/tenderpay/tender/internal/testserver"
	"github.com/tenderpay/tender/store"
)

func TestCoupons(t *testing.T) {
	t.Parallel()
	testCoupons(t, testserver.Options{})
}

func TestCoupons_Postgres(t *testing.T) {
	t.Parallel()
	testCoupons(t, testserver.Options{Postgres: true})
}

func testCoupons(t *testing.T, opts testserver.Options) {
	c := newHL(t, opts)
	loc := c.loc
	q := "altType=location&altId=" + loc
	now := time.Now().UTC()
	past, future := now.Add(-24*time.Hour).Format(time.RFC3339), now.Add(24*time.Hour).Format("2006-01-02T15:04:05.000Z")
	prod := c.product("Hat")
	pid := prod["_id"].(string)
	price := c.price(pid, nil)

	// Create: percentage, with the spec's example shapes.
	body := map[string]any{"altId": loc, "altType": "location", "name": "New Year Sale", "code": "LEVELUP", "discountType": "percentage",
		"discountValue": 12.5, "startDate": past, "endDate": future, "usageLimit": 10, "productIds": []string{pid},
		"priceIds": []string{price["_id"].(string)}, "variantIds": []string{"v1"}, "applyToFuturePayments": true,
		"applyToFuturePaymentsConfig": map[string]any{"type": "fixed", "duration": 5, "durationType": "months"}, "limitPerCustomer": true}
	cp := c.want(201, "POST", "/payments/coupon", body)
	id, _ := cp["_id"].(string)
	if !strings.HasPrefix(id, "cpn_") || cp["status"] != "active" || cp["discountValue"] != 12.5 || cp["limitPerCustomer"] != 1.0 ||
		cp["usageCount"] != 0.0 || cp["usageLimit"] != 10.0 || cp["altId"] != loc || cp["altType"] != "location" || cp["code"] != "LEVELUP" ||
		cp["traceId"] == "" || cp["endDate"] != future || fmt.Sprint(cp["productIds"]) != "["+pid+"]" || fmt.Sprint(cp["variantIds"]) != "[v1]" {
		t.Fatalf("create: %v", cp)
	}
	if f := cp["applyToFuturePaymentsConfig"].(map[string]any); f["type"] != "fixed" || f["duration"] != 5.0 || f["durationType"] != "months" {
		t.Errorf("applyToFuturePaymentsConfig: %v", f)
	}
	// An amount coupon: {type: forever} alone, limitPerCustomer false, a currency.
	amt := c.want(201, "POST", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "name": "Five off",
		"code": "five", "discountType": "amount", "discountValue": 5.5, "currency": "eur", "startDate": past,
		"applyToFuturePaymentsConfig": map[string]any{"type": "forever"}, "limitPerCustomer": false})
	if amt["discountValue"] != 5.5 || amt["currency"] != "EUR" || amt["limitPerCustomer"] != 0.0 || amt["applyToFuturePayments"] != true ||
		amt["endDate"] != nil || amt["applyToFuturePaymentsConfig"].(map[string]any)["type"] != "forever" {
		t.Errorf("amount coupon: %v", amt)
	}
	usdDefault := c.want(201, "POST", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "name": "Later",
		"code": "LATER", "discountType": "amount", "discountValue": 1, "startDate": future})
	if usdDefault["currency"] != "USD" || usdDefault["status"] != "scheduled" {
		t.Errorf("default currency, scheduled: %v", usdDefault)
	}
	ended := c.want(201, "POST", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "name": "Old",
		"code": "OLD", "discountType": "percentage", "discountValue": 100, "startDate": "2020-01-01", "endDate": "2020-02-01"})
	if ended["status"] != "expired" || ended["startDate"] != "2020-01-01T00:00:00.000Z" {
		t.Errorf("expired coupon: %v", ended)
	}

	// Get by id, by code (ignoring case), by both.
	for _, query := range []string{"&id=" + id, "&code=levelup", "&id=" + id + "&code=LEVELUP"} {
		got := c.want(200, "GET", "/payments/coupon?"+q+query, nil)
		if got["_id"] != id || got["traceId"] == "" {
			t.Errorf("get %s: %v", query, got)
		}
	}
	c.want(400, "GET", "/payments/coupon?"+q+"&id="+id+"&code=FIVE", nil)
	c.want(400, "GET", "/payments/coupon?"+q+"&code=NOPE", nil)
	if r := c.want(400, "GET", "/payments/coupon?"+q+"&id=cpn_nope", nil); r["message"] != "Coupon not found" {
		t.Errorf("unknown id: %v", r)
	}
	c.wantField("id", "GET", "/payments/coupon?"+q, nil)

	// List: status, search, pages, totals.
	list := func(query string) ([]string, float64) {
		t.Helper()
		m := c.want(200, "GET", "/payments/coupon/list?"+q+query, nil)
		if m["traceId"] == "" {
			t.Errorf("list without traceId: %v", m)
		}
		var codes []string
		for _, x := range m["data"].([]any) {
			codes = append(codes, x.(map[string]any)["code"].(string))
		}
		return codes, m["totalCount"].(float64)
	}
	for query, want := range map[string]string{
		"":                                "[OLD LATER five LEVELUP] 4",
		"&status=active":                  "[five LEVELUP] 2",
		"&status=scheduled":               "[LATER] 1",
		"&status=expired":                 "[OLD] 1",
		"&search=year":                    "[LEVELUP] 1",
		"&search=FIV":                     "[five] 1",
		"&limit=2&offset=1":               "[LATER five] 4",
		"&status=active&limit=1":          "[five] 2",
		"&search=" + url.QueryEscape("%"): "[] 0",
	} {
		codes, n := list(query)
		if got := fmt.Sprintf("%v %v", codes, n); got != want {
			t.Errorf("list %q = %s, want %s", query, got, want)
		}
	}

	// Codes are unique per location, ignoring case.
	dup := map[string]any{"altId": loc, "altType": "location", "name": "Dup", "code": "LevelUp", "discountType": "percentage",
		"discountValue": 5, "startDate": past}
	c.wantField("code", "POST", "/payments/coupon", dup)

	// Update is a full replace: id in the body; the usage count stays.
	upd := map[string]any{"altId": loc, "altType": "location", "id": id, "name": "Renamed", "code": "LEVELUP2", "discountType": "amount",
		"discountValue": 3, "startDate": past, "limitPerCustomer": 2}
	up := c.want(200, "PUT", "/payments/coupon", upd)
	if up["name"] != "Renamed" || up["code"] != "LEVELUP2" || up["discountType"] != "amount" || up["currency"] != "USD" ||
		up["limitPerCustomer"] != 2.0 || up["endDate"] != nil || up["usageLimit"] != nil || len(up["productIds"].([]any)) != 0 ||
		up["createdAt"] != cp["createdAt"] || up["applyToFuturePaymentsConfig"].(map[string]any)["type"] != "forever" {
		t.Errorf("update: %v", up)
	}
	upd["code"] = "FIVE"
	c.wantField("code", "PUT", "/payments/coupon", upd)
	upd["code"], upd["id"] = "X", "cpn_nope"
	c.want(400, "PUT", "/payments/coupon", upd)

	// Bad input names the field.
	good := func(edit map[string]any) map[string]any {
		b := map[string]any{"altId": loc, "altType": "location", "name": "N", "code": "C1", "discountType": "percentage",
			"discountValue": 10, "startDate": past}
		for k, v := range edit {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	for _, x := range []struct {
		field string
		edit  map[string]any
	}{
		{"name", map[string]any{"name": nil}},
		{"code", map[string]any{"code": nil}},
		{"code", map[string]any{"code": "TWO WORDS"}},
		{"discountType", map[string]any{"discountType": "free"}},
		{"discountValue", map[string]any{"discountValue": nil}},
		{"discountValue", map[string]any{"discountValue": "10"}},
		{"discountValue", map[string]any{"discountValue": 0}},
		{"discountValue", map[string]any{"discountValue": 100.01}},
		{"discountValue", map[string]any{"discountValue": 12.345}},
		{"discountValue", map[string]any{"discountType": "amount", "discountValue": -1}},
		{"discountValue", map[string]any{"discountType": "amount", "discountValue": 0.001}},
		{"currency", map[string]any{"discountType": "amount", "currency": "EURO"}},
		{"startDate", map[string]any{"startDate": nil}},
		{"startDate", map[string]any{"startDate": "tomorrow"}},
		{"endDate", map[string]any{"endDate": "2000-01-01"}},
		{"usageLimit", map[string]any{"usageLimit": 0}},
		{"usageLimit", map[string]any{"usageLimit": 1.5}},
		{"limitPerCustomer", map[string]any{"limitPerCustomer": "yes"}},
		{"limitPerCustomer", map[string]any{"limitPerCustomer": -1}},
		{"productIds", map[string]any{"productIds": []string{"prod_nope"}}},
		{"priceIds", map[string]any{"priceIds": []string{"price_nope"}}},
		{"productIds", map[string]any{"productIds": "prod_x"}},
		{"applyToFuturePaymentsConfig.type", map[string]any{"applyToFuturePaymentsConfig": map[string]any{"type": "sometimes"}}},
		{"applyToFuturePaymentsConfig.duration", map[string]any{"applyToFuturePaymentsConfig": map[string]any{"type": "fixed"}}},
		{"applyToFuturePaymentsConfig.durationType", map[string]any{"applyToFuturePaymentsConfig": map[string]any{"type": "fixed", "duration": 2, "durationType": "weeks"}}},
		{"altType", map[string]any{"altType": nil}},
		{"altId", map[string]any{"altId": nil}},
	} {
		c.wantField(x.field, "POST", "/payments/coupon", good(x.edit))
	}
	c.wantField("id", "PUT", "/payments/coupon", good(nil))
	c.wantField("id", "DELETE", "/payments/coupon", map[string]any{"altId": loc, "altType": "location"})
	c.wantField("status", "GET", "/payments/coupon/list?"+q+"&status=gone", nil)
	c.wantField("altType", "GET", "/payments/coupon/list?altId="+loc, nil)
	c.wantField("limit", "GET", "/payments/coupon/list?"+q+"&limit=-1", nil)

	// Scopes and tenancy.
	ro := c.token(highlevel.ScopeCouponsReadonly)
	c.wantAs(ro, 401, "POST", "/payments/coupon", good(map[string]any{"code": "RO"}))
	c.wantAs(ro, 401, "PUT", "/payments/coupon", upd)
	c.wantAs(ro, 401, "DELETE", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "id": id})
	c.wantAs(ro, 200, "GET", "/payments/coupon/list?"+q, nil)
	c.wantAs(ro, 200, "GET", "/payments/coupon?"+q+"&id="+id, nil)
	wo := c.token(highlevel.ScopeCouponsWrite)
	c.wantAs(wo, 401, "GET", "/payments/coupon/list?"+q, nil)
	c.wantAs(wo, 401, "GET", "/payments/coupon?"+q+"&id="+id, nil)
	foreign := c.foreignLocation()
	fq := "altType=location&altId=" + foreign
	c.want(403, "GET", "/payments/coupon/list?"+fq, nil)
	c.want(403, "GET", "/payments/coupon?"+fq+"&id="+id, nil)
	c.want(403, "POST", "/payments/coupon", good(map[string]any{"altId": foreign}))
	c.want(403, "PUT", "/payments/coupon", map[string]any{"altId": foreign, "altType": "location", "id": id, "name": "x", "code": "x",
		"discountType": "percentage", "discountValue": 1, "startDate": past})
	c.want(403, "DELETE", "/payments/coupon", map[string]any{"altId": foreign, "altType": "location", "id": id})

	// Delete (JSON body): gone from gets and lists; its code is free again.
	del := c.want(200, "DELETE", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "id": id})
	if del["success"] != true || del["traceId"] == "" {
		t.Errorf("delete: %v", del)
	}
	c.want(400, "GET", "/payments/coupon?"+q+"&id="+id, nil)
	c.want(400, "DELETE", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "id": id})
	if _, n := list(""); n != 3 {
		t.Errorf("list after delete: %v", n)
	}
	c.want(201, "POST", "/payments/coupon", good(map[string]any{"code": "levelup2"}))
}

// TestCoupons_Usage redeems coupons as an order does, in the order's
// transaction, and reads the counts and statuses back over HTTP.
func TestCoupons_Usage(t *testing.T) {
	t.Parallel()
	c := newHL(t, testserver.Options{})
	loc := c.loc
	past := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	prod := c.product("Hat")
	cp := c.want(201, "POST", "/payments/coupon", map[string]any{"altId": loc, "altType": "location", "name": "Twice", "code": "TWICE",
		"discountType": "percentage", "discountValue": 50, "startDate": past, "usageLimit": 2, "limitPerCustomer": true,
		"productIds": []string{prod["_id"].(string)}})
	svc := c.s.Server.HighLevel.Catalog
	ctx := context.Background()
	redeem := func(contact string) (int64, error) {
		var discount int64
		err := c.s.Store.Write(ctx, func(tx store.Tx) error {
			coupon, err := svc.FindCouponByCode(ctx, tx, loc, "twice")
			if err != nil {
				return err
			}
			discount, err = catalog.ApplyCoupon(coupon, []catalog.Line{
				{ProductID: prod["_id"].(string), PriceID: "price_a", Amount: 1999, Currency: "USD"},
				{ProductID: "prod_other", PriceID: "price_b", Amount: 5000, Currency: "USD"}})
			if err != nil {
				return err
			}
			return svc.RedeemCoupon(ctx, tx, coupon, contact, "ord_1")
		})
		return discount, err
	}
	if d, err := redeem("ada"); err != nil || d != 1000 {
		t.Fatalf("first redemption: %d, %v (want 50%% of 19.99 = 10.00, rounded half up)", d, err)
	}
	if _, err := redeem("ada"); tender.ErrorCode(err) != tender.ECONFLICT {
		t.Errorf("second redemption by the same contact: %v", err)
	}
	if _, err := redeem("bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := redeem("cy"); tender.ErrorCode(err) != tender.ECONFLICT {
		t.Errorf("redemption past the usage limit: %v", err)
	}
	got := c.want(200, "GET", "/payments/coupon?altType=location&altId="+loc+"&id="+cp["_id"].(string), nil)
	if got["usageCount"] != 2.0 || got["status"] != "expired" {
		t.Errorf("after two redemptions: %v", got)
	}
	lst := c.want(200, "GET", "/payments/coupon/list?altType=location&altId="+loc+"&status=expired", nil)
	if lst["totalCount"] != 1.0 {
		t.Errorf("expired list: %v", lst)
	}
}
