package httpapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	routetable "github.com/acme/accountadmin/shared/routes"
)

type sample struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

func TestDecode(t *testing.T) {
	big := `{"name":"` + strings.Repeat("x", MaxBody) + `"}`
	cases := []struct {
		name     string
		body     string
		b64      bool
		ct       string
		wantCode string // "" = ok
		wantKind apperr.Kind
	}{
		{"valid", `{"name":"a","count":2,"tags":["x"]}`, false, "application/json", "", 0},
		{"valid base64", `{"name":"a"}`, true, "application/json; charset=utf-8", "", 0},
		{"no content type", `{"name":"a"}`, false, "", "", 0},
		{"malformed", `{"name":`, false, "", "malformed_json", apperr.KindInvalid},
		{"not json", `hello`, false, "", "malformed_json", apperr.KindInvalid},
		{"two values", `{"name":"a"}{"name":"b"}`, false, "", "malformed_json", apperr.KindInvalid},
		{"empty", `  `, false, "", "empty_body", apperr.KindInvalid},
		{"unknown field", `{"name":"a","admin":true}`, false, "", "validation_failed", apperr.KindUnprocessable},
		{"wrong type", `{"count":"many"}`, false, "", "validation_failed", apperr.KindUnprocessable},
		{"wrong array type", `{"tags":"x"}`, false, "", "validation_failed", apperr.KindUnprocessable},
		{"too large", big, false, "", "body_too_large", apperr.KindTooLarge},
		{"too large base64", big, true, "", "body_too_large", apperr.KindTooLarge},
		{"bad base64", `!!!`, true, "", "bad_base64_body", apperr.KindInvalid},
		{"form body", `name=a`, false, "application/x-www-form-urlencoded", "unsupported_content_type", apperr.KindUnprocessable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if c.b64 && c.name != "bad base64" {
				body = base64.StdEncoding.EncodeToString([]byte(c.body))
			}
			req := Request{Body: body, IsBase64Encoded: c.b64, Headers: map[string]string{}}
			if c.ct != "" {
				req.Headers["content-type"] = c.ct
			}
			var dst sample
			err := Decode(req, &dst)
			if c.wantCode == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if dst.Name != "a" {
					t.Fatalf("decoded %+v", dst)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Code != c.wantCode || e.Kind != c.wantKind {
				t.Fatalf("got %v, want code %s kind %v", err, c.wantCode, c.wantKind)
			}
		})
	}
}

func TestDecodeNamesTheBadField(t *testing.T) {
	err := Decode(Request{Body: `{"name":"a","isAdmin":true}`}, &sample{})
	e, _ := apperr.As(err)
	if len(e.Fields) != 1 || e.Fields[0].Field != "isAdmin" || e.Fields[0].Code != "unknown_field" {
		t.Fatalf("fields = %+v", e.Fields)
	}
	err = Decode(Request{Body: `{"count":"x"}`}, &sample{})
	e, _ = apperr.As(err)
	if len(e.Fields) != 1 || e.Fields[0].Field != "count" || e.Fields[0].Code != "wrong_type" {
		t.Fatalf("fields = %+v", e.Fields)
	}
}

func TestProblemMapping(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{apperr.Invalid("bad", "bad"), 400, "bad"},
		{apperr.ErrUnauthenticated, 401, "unauthenticated"},
		{apperr.ErrForbidden, 403, "forbidden"},
		{apperr.ErrNotFound, 404, "not_found"},
		{apperr.ErrEmailTaken, 409, "email_taken"},
		{apperr.New(apperr.KindGone, "invitation_expired", "expired"), 410, "invitation_expired"},
		{apperr.ErrVersionConflict, 412, "version_conflict"},
		{apperr.ErrBodyTooLarge, 413, "body_too_large"},
		{apperr.Validation(apperr.FieldError{Field: "email", Code: "invalid_email", Detail: "x"}), 422, "validation_failed"},
		{apperr.ErrRateLimited.With("retryAfterSeconds", 30), 429, "rate_limited"},
		{apperr.ErrUnavailable, 503, "unavailable"},
		{errors.New("dynamodb exploded: secret table detail"), 500, "internal"},
	}
	for _, c := range cases {
		resp := Problem(log, t.Context(), Request{RawPath: "/x"}, c.err)
		if resp.StatusCode != c.status {
			t.Errorf("%v: status %d, want %d", c.err, resp.StatusCode, c.status)
		}
		if resp.Headers["Content-Type"] != "application/problem+json" {
			t.Errorf("%v: content type %q", c.err, resp.Headers["Content-Type"])
		}
		var body map[string]any
		if err := json.Unmarshal([]byte(resp.Body), &body); err != nil {
			t.Fatal(err)
		}
		if body["code"] != c.code || body["status"] != float64(c.status) || body["type"] != "/problems/"+c.code || body["title"] != http.StatusText(c.status) {
			t.Errorf("%v: body %v", c.err, body)
		}
		if c.status == 500 && (strings.Contains(resp.Body, "secret") || body["detail"] != "internal error") {
			t.Errorf("internal error leaked: %s", resp.Body)
		}
		if c.status == 429 && (resp.Headers["Retry-After"] != "30" || body["retryAfterSeconds"] != float64(30)) {
			t.Errorf("429 without retry hints: %v %v", resp.Headers, body)
		}
		if c.status == 422 && body["errors"] == nil {
			t.Errorf("422 without field errors: %s", resp.Body)
		}
	}
}

func TestServeRecoversPanicsAndUnknownRoutes(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	ops := Ops{}
	for _, r := range routetable.Table {
		if r.Function == "auth" {
			ops[r.Op] = func(ctx context.Context, in In) (Response, error) { panic("boom") }
		}
	}
	h := Server{Log: log, Sessions: refuseAll{}}.Serve(ops)
	resp, err := h(t.Context(), Request{RouteKey: "POST /auth/sign-in"})
	if err != nil || resp.StatusCode != 500 || strings.Contains(resp.Body, "boom") {
		t.Fatalf("panic: %v %d %s", err, resp.StatusCode, resp.Body)
	}
	resp, err = h(t.Context(), Request{RouteKey: "GET /nope"})
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("unknown route: %v %d", err, resp.StatusCode)
	}
}

// refuseAll resolves no caller.
type refuseAll struct{}

func (refuseAll) Authorize(context.Context, string) (access.Caller, error) {
	return access.Caller{}, apperr.ErrUnauthenticated
}

func TestIfMatch(t *testing.T) {
	for in, want := range map[string]int64{"": 0, `"3"`: 3, `"12"`: 12} {
		got, err := IfMatch(Request{Headers: map[string]string{"if-match": in}})
		if err != nil || got != want {
			t.Errorf("If-Match %q = %d, %v", in, got, err)
		}
	}
	for _, bad := range []string{`3`, `W/"3"`, `"x"`, `"0"`, `"-1"`} {
		if _, err := IfMatch(Request{Headers: map[string]string{"if-match": bad}}); apperr.KindOf(err) != apperr.KindInvalid {
			t.Errorf("If-Match %q accepted", bad)
		}
	}
	if ETag(4) != `"4"` {
		t.Fatal(ETag(4))
	}
}
