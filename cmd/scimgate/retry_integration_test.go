package main

import "testing"

// TestRetriedCreate: a POST retried after a timeout (the first may have
// been applied) with the same externalId gets the resource the first one
// created, not a conflict; the same userName with another externalId, or
// none, is still 409 uniqueness.
func TestRetriedCreate(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	body := map[string]any{"schemas": []string{userURN}, "userName": "retry-me", "externalId": "okta-00u1",
		"name": map[string]any{"givenName": "Re", "familyName": "Try"}}
	first := e.must(201, "POST", "/Users", c, body)
	again := e.must(201, "POST", "/Users", c, body)
	if str(again.body, "id") != str(first.body, "id") || str(again.body, "externalId") != "okta-00u1" {
		t.Fatalf("the retried POST: %s, first %s", again.raw, first.raw)
	}
	other := map[string]any{"schemas": []string{userURN}, "userName": "retry-me", "externalId": "okta-00u2"}
	if r := e.must(409, "POST", "/Users", c, other); str(r.body, "scimType") != "uniqueness" {
		t.Errorf("another externalId: %s", r.raw)
	}
	none := map[string]any{"schemas": []string{userURN}, "userName": "retry-me"}
	if r := e.must(409, "POST", "/Users", c, none); str(r.body, "scimType") != "uniqueness" {
		t.Errorf("no externalId: %s", r.raw)
	}
	// One who may not see the entry learns nothing from a retry either.
	if r := e.do("POST", "/Users", "reporting", body); r.status != 403 {
		t.Errorf("a caller without add: %d %s", r.status, r.raw)
	}
}
