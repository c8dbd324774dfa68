package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/rs/zerolog"
)

// authServer serves /scim behind Middleware and RequireScope("scim:read").
type authServer struct {
	*httptest.Server
	logs     *bytes.Buffer
	mu       sync.Mutex
	failures []string
}

func newAuthServer(t *testing.T, v Validator, writer ErrorWriter) *authServer {
	t.Helper()
	s := &authServer{logs: &bytes.Buffer{}}
	var logMu sync.Mutex
	logger := zerolog.New(zerolog.SyncWriter(lockedWriter{&logMu, s.logs})).Level(zerolog.DebugLevel)
	opts := MiddlewareOptions{
		Logger:      logger,
		ErrorWriter: writer,
		OnFailure: func(reason string) {
			s.mu.Lock()
			s.failures = append(s.failures, reason)
			s.mu.Unlock()
		},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "no principal", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"sub": p.Subject, "client": p.ClientID, "scopes": p.Scopes})
	})
	mux := http.NewServeMux()
	mux.Handle("/scim", Middleware(v, opts)(RequireScope("scim:read")(handler)))
	mux.Handle("/admin", Middleware(v, opts)(RequireScope("scim:read", "connector:write")(handler)))
	mux.Handle("/any", Middleware(v, opts)(RequireAnyScope("nope", "scim:write")(handler)))
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestMiddleware(t *testing.T) {
	v, _, _ := newTestJWT(t, nil)
	es := keyFor(t, jwa.ES256)
	good := signToken(t, es, es.kid, goodClaims())
	expired := signToken(t, es, es.kid, with(goodClaims(), map[string]any{"exp": testT0.Add(-2 * time.Hour).Unix()}))
	readOnly := signToken(t, es, es.kid, with(goodClaims(), map[string]any{"scope": "scim:read"}))
	srv := newAuthServer(t, v, nil)

	tests := []struct {
		name        string
		path        string
		headers     []string // Authorization values
		wantStatus  int
		wantReason  string // OnFailure reason; "" for success
		wantAuthHdr string // exact WWW-Authenticate, or a prefix ending in "*"
		secret      string // must appear in neither the response nor the logs
	}{
		{"missing header", "/scim", nil, 401, "missing_token", `Bearer realm="scimgate"`, ""},
		{"other scheme", "/scim", []string{"Basic dXNlcjpwYXNz"}, 401, "missing_token", `Bearer realm="scimgate"`, ""},
		{"empty bearer", "/scim", []string{"Bearer "}, 400, "invalid_request", `Bearer realm="scimgate", error="invalid_request", *`, ""},
		{"two headers", "/scim", []string{"Bearer " + good, "Bearer " + good}, 400, "invalid_request", `Bearer realm="scimgate", error="invalid_request", *`, good},
		{"bad charset", "/scim", []string{`Bearer abc"def`}, 401, "malformed", `Bearer realm="scimgate", error="invalid_token", *`, ""},
		{"bad token", "/scim", []string{"Bearer " + expired}, 401, "expired", `Bearer realm="scimgate", error="invalid_token", error_description="the token has expired"`, expired},
		{"tampered token", "/scim", []string{"Bearer " + good[:len(good)-4] + "AAAA"}, 401, "bad_signature", `Bearer realm="scimgate", error="invalid_token", *`, good[:len(good)-4]},
		{"good token", "/scim", []string{"Bearer " + good}, 200, "", "", good},
		{"scheme in lower case", "/scim", []string{"bearer " + good}, 200, "", "", good},
		{"insufficient scope", "/admin", []string{"BEARER " + good}, 403, "insufficient_scope", `Bearer realm="scimgate", error="insufficient_scope", error_description="the access token lacks a required scope", scope="scim:read connector:write"`, good},
		{"read-only token", "/scim", []string{"Bearer " + readOnly}, 200, "", "", readOnly},
		{"any of several scopes", "/any", []string{"Bearer " + good}, 200, "", "", good},
		{"none of several scopes", "/any", []string{"Bearer " + readOnly}, 403, "insufficient_scope", `Bearer realm="scimgate", error="insufficient_scope", *`, readOnly},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv.mu.Lock()
			srv.failures = nil
			srv.mu.Unlock()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+tc.path, nil)
			for _, h := range tc.headers {
				req.Header.Add("Authorization", h)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.wantStatus, body)
			}
			gotAuth := resp.Header.Get("WWW-Authenticate")
			if want, prefix := strings.CutSuffix(tc.wantAuthHdr, "*"); prefix && !strings.HasPrefix(gotAuth, want) || !prefix && gotAuth != want {
				t.Errorf("WWW-Authenticate %q, want %q", gotAuth, tc.wantAuthHdr)
			}
			srv.mu.Lock()
			failures := srv.failures
			srv.mu.Unlock()
			if tc.wantReason == "" && len(failures) != 0 || tc.wantReason != "" && (len(failures) != 1 || failures[0] != tc.wantReason) {
				t.Errorf("OnFailure reasons %q, want %q", failures, tc.wantReason)
			}
			if tc.wantStatus == 200 {
				var got map[string]any
				if err := json.Unmarshal(body, &got); err != nil || got["sub"] != "alice" {
					t.Errorf("handler did not get the principal: %s", body)
				}
			} else {
				if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
					t.Errorf("Content-Type %q", ct)
				}
				var scimErr struct {
					Schemas []string `json:"schemas"`
					Status  string   `json:"status"`
					Detail  string   `json:"detail"`
				}
				if err := json.Unmarshal(body, &scimErr); err != nil || len(scimErr.Schemas) != 1 ||
					scimErr.Schemas[0] != "urn:ietf:params:scim:api:messages:2.0:Error" ||
					scimErr.Status != strconv.Itoa(tc.wantStatus) || scimErr.Detail == "" {
					t.Errorf("body %s is not a SCIM error with status %d", body, tc.wantStatus)
				}
			}
			if tc.secret != "" {
				if strings.Contains(string(body), tc.secret) || strings.Contains(gotAuth, tc.secret) {
					t.Error("the response echoes the token")
				}
			}
		})
	}
	logs := srv.logs.String()
	if !strings.Contains(logs, `"reason":"expired"`) || !strings.Contains(logs, `"sub":"alice"`) {
		t.Errorf("logs lack reasons or subjects:\n%s", logs)
	}
	// A refused token's line, at the default level, says who the token
	// claims to be, marked unverified.
	refused := ""
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"reason":"expired"`) {
			refused = line
		}
	}
	for _, want := range []string{`"level":"info"`, `"unverified_sub":"alice"`, `"unverified_client_id":"connector-1"`, `"unverified_jti":"jti-1"`} {
		if !strings.Contains(refused, want) {
			t.Errorf("the refused token's line %q lacks %s", refused, want)
		}
	}
	for _, tok := range []string{good, expired, readOnly, good[:len(good)-4], "dXNlcjpwYXNz"} {
		if strings.Contains(logs, tok) {
			t.Fatalf("the log contains a token or credentials:\n%s", logs)
		}
	}
}

func TestMiddlewareCustomErrorWriter(t *testing.T) {
	v := ValidatorFunc(func(_ context.Context, token string) (*Principal, error) {
		if token == "down" {
			return nil, newError(ReasonUnavailable, "the signing keys of the issuer are not available")
		}
		return nil, newError(ReasonInactive, "the access token is not active")
	})
	var gotStatus int
	var gotReason Reason
	writer := func(w http.ResponseWriter, _ *http.Request, status int, e *Error) {
		gotStatus, gotReason = status, e.Reason
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "custom")
	}
	srv := newAuthServer(t, v, writer)
	for _, tc := range []struct {
		token      string
		wantStatus int
		wantReason Reason
		wantAuth   bool
	}{
		{"opaque", 401, ReasonInactive, true},
		{"down", 503, ReasonUnavailable, false},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/scim", nil)
		req.Header.Set("Authorization", "Bearer "+tc.token)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.wantStatus || string(body) != "custom" || gotStatus != tc.wantStatus || gotReason != tc.wantReason {
			t.Errorf("%s: status %d body %q writer saw %d %q", tc.token, resp.StatusCode, body, gotStatus, gotReason)
		}
		if has := resp.Header.Get("WWW-Authenticate") != ""; has != tc.wantAuth {
			t.Errorf("%s: WWW-Authenticate present %v, want %v", tc.token, has, tc.wantAuth)
		}
	}
}

func TestRequireScopeWithoutMiddleware(t *testing.T) {
	h := RequireScope("scim:read")(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("handler reached without a principal")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") != `Bearer realm="scimgate"` {
		t.Fatalf("status %d, challenge %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}
}

func TestBearerToken(t *testing.T) {
	tests := []struct {
		header string
		want   string
		reason Reason
	}{
		{"Bearer abc", "abc", ""},
		{"bEaReR   abc-._~+/==", "abc-._~+/==", ""},
		{"Bearer a=b", "", ReasonMalformed},
		{"Bearer =", "", ReasonMalformed},
		{"Bearer abc def", "", ReasonMalformed},
		{"Bearer", "", ReasonInvalidRequest},
		{"Bearerabc", "", ReasonMissingToken},
		{"Basic abc", "", ReasonMissingToken},
		{"Bearer ", "", ReasonInvalidRequest},
		{"Bearer ünïcode", "", ReasonMalformed},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", tc.header)
		got, e := bearerToken(r)
		var reason Reason
		if e != nil {
			reason = e.Reason
		}
		if got != tc.want || reason != tc.reason {
			t.Errorf("%q: got %q %q, want %q %q", tc.header, got, reason, tc.want, tc.reason)
		}
	}
}
