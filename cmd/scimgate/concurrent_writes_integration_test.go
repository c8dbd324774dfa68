package main

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentWritesWithoutIfMatch: clients that send no precondition
// never get 412. Sixteen clients each adding two members to one group at
// once all succeed and every member is there afterwards; so do concurrent
// PATCHes of different attributes of one user. A stale If-Match still
// gets 412.
func TestConcurrentWritesWithoutIfMatch(t *testing.T) {
	e := startEnv(t)
	conn := e.token("connector", allScopes)
	r := e.must(200, "GET", "/Users?count=100&attributes=userName", conn, nil)
	var ids []string
	for i := 0; i < num(r.body, "totalResults") && i < 100; i++ {
		ids = append(ids, str(r.body, fmt.Sprintf("Resources[%d].id", i)))
	}
	if len(ids) < 20 {
		t.Fatalf("only %d users", len(ids))
	}
	g := e.must(201, "POST", "/Groups", conn, map[string]any{
		"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "concurrent-adds"})
	gid := str(g.body, "id")
	const clients = 16
	var wg sync.WaitGroup
	statuses := make([]int, 2*clients)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			for k := 0; k < 2; k++ {
				u := ids[(2*c+k)%len(ids)]
				res := e.do("PATCH", "/Groups/"+gid, conn, patchOp("add", "members", []any{map[string]any{"value": u}}))
				statuses[2*c+k] = res.status
			}
		}(c)
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 && s != 204 {
			t.Errorf("membership add %d: status %d", i, s)
		}
	}
	want := map[string]bool{}
	for i := 0; i < 2*clients; i++ {
		want[ids[i%len(ids)]] = true
	}
	g = e.must(200, "GET", "/Groups/"+gid, conn, nil)
	members, _ := g.body["members"].([]any)
	got := map[string]bool{}
	for _, m := range members {
		got[m.(map[string]any)["value"].(string)] = true
	}
	for id := range want {
		if !got[id] {
			t.Errorf("member %s was answered 2xx but is missing", id)
		}
	}
	// Concurrent removals too.
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			u := ids[(2*c)%len(ids)]
			res := e.do("PATCH", "/Groups/"+gid, conn, patchOp("remove", `members[value eq "`+u+`"]`, nil))
			statuses[c] = res.status
		}(c)
	}
	wg.Wait()
	for i, s := range statuses[:clients] {
		if s != 200 && s != 204 {
			t.Errorf("membership remove %d: status %d", i, s)
		}
	}

	// One user, several attributes written at once by several clients.
	user := ids[0]
	paths := []string{"title", "displayName", "nickName", "name.givenName", "userType", "title", "displayName", "name.familyName"}
	for i, p := range paths {
		wg.Add(1)
		go func(i int, p string) {
			defer wg.Done()
			statuses[i] = e.do("PATCH", "/Users/"+user, conn, patchOp("replace", p, fmt.Sprintf("v%d", i))).status
		}(i, p)
	}
	wg.Wait()
	for i, s := range statuses[:len(paths)] {
		if s == 412 || s >= 500 {
			t.Errorf("PATCH %s without If-Match: status %d", paths[i], s)
		}
	}

	// A precondition the client sent is still answered.
	e.must(412, "PATCH", "/Users/"+user, conn, patchOp("replace", "title", "x"), "If-Match", `W/"stale"`)
}
