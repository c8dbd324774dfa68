package main

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSeekOutlivesRequest: a gateway that did not serve a cursor walk's
// last page finds where the walk was (a seek: a pass over the ids before
// it), which in a directory of millions takes longer than a request may.
// When the request ends first (here the client gives up), the seek goes
// on, and the client's retry of the same page is served from the walk it
// found, without seeking again: the page the walk's own gateway serves.
func TestSeekOutlivesRequest(t *testing.T) {
	const count = 100
	quiet := func(c *Config) { c.Log.Level = "info"; withMetrics(t)(c) }
	e := startEnvWith(t, quiet, walkLDIF(t))
	other := startGateway(t, e.ldap.URL, "dc=example,dc=com", quiet)
	const c = "connector"
	other.tokens[c] = e.tokens[c]
	page := func(g *testEnv, cursor string) response {
		t.Helper()
		return g.must(200, "GET", fmt.Sprintf("/Users?attributes=userName&count=%d&cursor=%s", count, url.QueryEscape(cursor)), c, nil)
	}
	names := func(r response) []string {
		var out []string
		for i := range num(r.body, "itemsPerPage") {
			out = append(out, str(r.body, fmt.Sprintf("Resources[%d].userName", i)))
		}
		return out
	}
	// The cursors of a walk on the first gateway, deep into the directory.
	var cursors []string
	cursor := ""
	for range 180 {
		cursor = str(page(e, cursor).body, "nextCursor")
		if cursor == "" {
			t.Fatal("the walk ended early")
		}
		cursors = append(cursors, cursor)
	}
	// The other gateway seeks each time. The client gives up sooner when
	// the page came, later when it gave up before the seek began, until it
	// gives up while the seek goes on (the time before the seek begins is
	// short, the seek long); then it retries at once.
	wait := 80 * time.Millisecond
	for i := range 14 {
		cursor := cursors[100+5*i]
		// What the first gateway, whose walk it is, serves after it.
		want := names(page(e, cursor))
		before := pagesServed(t, other)
		u := other.base + fmt.Sprintf("/Users?attributes=userName&count=%d&cursor=%s", count, url.QueryEscape(cursor))
		if status, _, body := rawGet(u, other.tokens[c], wait); status != 0 {
			t.Logf("the client waited %s, the page came (%d); %s", wait, status, tail(body, 80))
			wait /= 2
			continue
		}
		got := names(page(other, cursor))
		after := pagesServed(t, other)
		if !slices.Equal(got, want) {
			t.Fatalf("the retry of a page whose seek outlived its request: %d users %v..., want the walk's own next page %v...", len(got), head(got), head(want))
		}
		if after["walk"]-before["walk"] == 1 && after["paged"]-before["paged"] == 0 {
			if !strings.Contains(other.logs.String(), "a seek outlived its request: its walk is kept for the retry") {
				t.Error("the kept walk was not logged")
			}
			t.Logf("the client gave up after %s; the retry went on with the walk the seek found", wait)
			return
		}
		t.Logf("the client gave up after %s, before the seek began (served %v then %v)", wait, before, after)
		wait = wait * 3 / 2
	}
	t.Fatal("no request ended while its seek went on: the test did not get to what it checks")
}

func head(s []string) []string { return s[:min(len(s), 3)] }
