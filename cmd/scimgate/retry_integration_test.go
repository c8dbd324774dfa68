package main

import (
	"strings"
	"testing"
)

// TestRetriedCreate: a POST retried after a timeout (the first may have
// been applied) is 409 uniqueness, as Okta's and Entra's tests require,
// but with the same externalId the detail gives the id the first one
// created; with another externalId, or none, it does not.
func TestRetriedCreate(t *testing.T) {
	e := startEnv(t)
	c := "connector"
	body := map[string]any{"schemas": []string{userURN}, "userName": "retry-me", "externalId": "okta-00u1",
		"name": map[string]any{"givenName": "Re", "familyName": "Try"}}
	first := e.must(201, "POST", "/Users", c, body)
	id := str(first.body, "id")
	again := e.must(409, "POST", "/Users", c, body)
	if str(again.body, "scimType") != "uniqueness" || !strings.Contains(str(again.body, "detail"), id) {
		t.Fatalf("the retried POST: %s (first created %s)", again.raw, id)
	}
	other := map[string]any{"schemas": []string{userURN}, "userName": "retry-me", "externalId": "okta-00u2"}
	if r := e.must(409, "POST", "/Users", c, other); str(r.body, "scimType") != "uniqueness" || strings.Contains(r.raw, id) {
		t.Errorf("another externalId: %s", r.raw)
	}
	none := map[string]any{"schemas": []string{userURN}, "userName": "retry-me"}
	if r := e.must(409, "POST", "/Users", c, none); str(r.body, "scimType") != "uniqueness" || strings.Contains(r.raw, id) {
		t.Errorf("no externalId: %s", r.raw)
	}
	// One who may not see the entry learns nothing from a retry either.
	if r := e.do("POST", "/Users", "reporting", body); r.status != 403 {
		t.Errorf("a caller without add: %d %s", r.status, r.raw)
	}
}
