// Package httpapi is the glue between API Gateway HTTP API (payload format
// 2.0) and the domain: strict JSON decoding, problem+json errors, ETags,
// Idempotency-Key replays and request-scoped structured logs.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	routetable "github.com/acme/accountadmin/shared/routes"
)

// Request and Response are the HTTP API v2 payloads.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

// Handler serves one route. A returned error is a domain error (or wraps
// one); Serve turns it into problem+json.
type Handler func(ctx context.Context, req Request) (Response, error)

// LambdaHandler is what lambda.Start and the local API call.
type LambdaHandler func(ctx context.Context, req Request) (Response, error)

// Mux dispatches by the route key ("POST /auth/sign-in") that API Gateway
// (and the local API) set on every request.
type Mux map[string]Handler

// Sessions resolves a bearer token to its caller, or says why not (an
// apperr of kind unauthenticated); *auth.Service is one. Any other error is
// an outage, never "signed out".
type Sessions interface {
	Authorize(ctx context.Context, rawToken string) (access.Caller, error)
}

// Serve wraps a function's routes: it dispatches, resolves the caller, maps
// errors to problem+json, recovers panics as 500s, and writes one log line
// per request that is also its metric line (observe.go). The Go error it
// returns is always nil: every handled failure is a response, panics
// included. A non-nil error would make Lambda count a failed invocation,
// but the runtime then discards the response and API Gateway answers its
// own bare 500 without the problem body and its requestId; so 5xx answers
// and panics are counted instead by the Faults and Panics metrics, which
// the stack alarms on.
//
// Every route must be one of the route table (shared/routes), which says
// whether it needs a caller (Auth). For such a route Serve resolves the
// request's Authorization: Bearer token with sessions, on every request
// (nothing is cached, so a revoked session is refused on its next call),
// and answers 401 problem+json saying why when there is none or it is
// refused; only then does the handler run, with the caller in its context
// (access.CallerFrom). Nothing else in the request can make a caller: an
// authorizer context in the event is ignored. A route missing from the
// table is a programming error: Serve panics when the function starts.
func Serve(log *slog.Logger, sessions Sessions, routes Mux) LambdaHandler {
	authorized := make(map[string]bool, len(routes))
	noKey, noStore := map[string]bool{}, map[string]bool{}
	for key := range routes {
		r, ok := routetable.Lookup(key)
		if !ok {
			panic(fmt.Sprintf("httpapi.Serve: %s is not in the route table (shared/routes)", key))
		}
		authorized[key] = r.Auth
		noKey[key] = r.NoKey
		noStore[key] = r.NoStore
		if r.Auth && sessions == nil {
			panic(fmt.Sprintf("httpapi.Serve: %s needs a caller but no Sessions were given", key))
		}
	}
	return func(ctx context.Context, req Request) (resp Response, _ error) {
		started := time.Now()
		ctx, obs := observe(ctx)
		function := ""
		if r, ok := routetable.Lookup(req.RouteKey); ok {
			function = r.Function
		}
		defer func() { obs.finish(ctx, log, function, req, resp, started) }()
		l := log.With("requestId", req.RequestContext.RequestID, "route", req.RouteKey)
		defer func() {
			if p := recover(); p != nil {
				obs.panicked, obs.panicMsg, obs.stack = true, fmt.Sprint(p), string(debug.Stack())
				resp = Problem(l, ctx, req, apperr.Internal("panic", fmt.Errorf("%v", p)))
			}
		}()
		h, ok := routes[req.RouteKey]
		if !ok {
			return Problem(l, ctx, req, apperr.ErrNotFound.Withf("no route %s", req.RouteKey)), nil
		}
		if authorized[req.RouteKey] {
			caller, err := resolveCaller(ctx, sessions, req)
			if err != nil {
				return Problem(l, ctx, req, err), nil
			}
			obs.caller = &caller
			if caller.IsKey() && noKey[req.RouteKey] {
				return Problem(l, ctx, req, ErrKeyRefused), nil
			}
			ctx = access.WithCaller(ctx, caller)
		}
		resp, err := h(ctx, req)
		if err != nil {
			return Problem(l, ctx, req, err), nil
		}
		if noStore[req.RouteKey] {
			// The row says its answers may hold a secret: no cache keeps one.
			if resp.Headers == nil {
				resp.Headers = map[string]string{}
			}
			resp.Headers["Cache-Control"] = "no-store"
		}
		return resp, nil
	}
}

// ErrKeyRefused answers an API key presented to a route that acts as a
// person (routes.Route.NoKey).
var ErrKeyRefused = apperr.New(apperr.KindForbidden, "api_key_refused",
	"API keys cannot do this: it acts as a person (sign-in sessions, switching account, passwords, invitations, new API keys); sign in instead")

// resolveCaller reads the request's bearer token and resolves it. The token
// never reaches an error or a log: refusals carry only their reason.
func resolveCaller(ctx context.Context, sessions Sessions, req Request) (access.Caller, error) {
	header := Header(req, "Authorization")
	if header == "" {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("this route needs a session: send Authorization: Bearer <token> (POST /auth/sign-in)")
	}
	raw, ok := identity.BearerToken(header)
	if !ok {
		return access.Caller{}, apperr.ErrUnauthenticated.Withf("the Authorization header is not a bearer token")
	}
	client := identity.Client{IP: req.RequestContext.HTTP.SourceIP, UserAgent: req.RequestContext.HTTP.UserAgent}
	return sessions.Authorize(identity.WithClient(ctx, client), raw)
}

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Response{StatusCode: 500, Headers: map[string]string{"Content-Type": "application/problem+json"},
			Body: `{"type":"/problems/internal","title":"Internal Server Error","status":500,"code":"internal","detail":"internal error"}`}
	}
	return Response{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b)}
}

// NoContent answers 204.
func NoContent() Response { return Response{StatusCode: http.StatusNoContent} }

// HTML answers a page.
func HTML(status int, body string) Response {
	return Response{StatusCode: status, Body: body, Headers: map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; script-src 'unsafe-inline'; connect-src 'self'",
		"X-Frame-Options":         "DENY",
	}}
}

// WithETag sets the ETag of a versioned resource.
func WithETag(r Response, version int64) Response {
	if r.Headers == nil {
		r.Headers = map[string]string{}
	}
	r.Headers["ETag"] = ETag(version)
	return r
}

// ProblemBody is an RFC 9457 problem detail with our stable code.
type ProblemBody struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Code      string              `json:"code"`
	Detail    string              `json:"detail"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"requestId,omitempty"`
	Errors    []apperr.FieldError `json:"errors,omitempty"`
	Extra     map[string]any      `json:"-"`
}

// Status maps each error kind to its HTTP status and log level. It is the one
// place that does. A 4xx that any client meets in normal use (bad input, not
// found, conflicts, stale versions) is INFO; one that says someone may be
// probing or hammering (no or a refused session, forbidden, rate-limited) is
// WARN; a 5xx is ERROR.
func Status(k apperr.Kind) (int, slog.Level) {
	switch k {
	case apperr.KindInvalid:
		return http.StatusBadRequest, slog.LevelInfo
	case apperr.KindUnauthenticated:
		return http.StatusUnauthorized, slog.LevelWarn
	case apperr.KindForbidden:
		return http.StatusForbidden, slog.LevelWarn
	case apperr.KindNotFound:
		return http.StatusNotFound, slog.LevelInfo
	case apperr.KindConflict:
		return http.StatusConflict, slog.LevelInfo
	case apperr.KindGone:
		return http.StatusGone, slog.LevelInfo
	case apperr.KindPreconditionFailed:
		return http.StatusPreconditionFailed, slog.LevelInfo
	case apperr.KindTooLarge:
		return http.StatusRequestEntityTooLarge, slog.LevelInfo
	case apperr.KindUnprocessable:
		return http.StatusUnprocessableEntity, slog.LevelInfo
	case apperr.KindRateLimited:
		return http.StatusTooManyRequests, slog.LevelWarn
	case apperr.KindUnavailable:
		return http.StatusServiceUnavailable, slog.LevelError
	default:
		return http.StatusInternalServerError, slog.LevelError
	}
}

// Problem logs err once and turns it into a problem+json response. Internal
// errors say only "internal error" and the request id.
func Problem(l *slog.Logger, ctx context.Context, req Request, err error) Response {
	e, ok := apperr.As(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			e = &apperr.Error{Kind: apperr.KindUnavailable, Code: apperr.ErrUnavailable.Code, Detail: apperr.ErrUnavailable.Detail, Err: err}
		} else {
			e = apperr.Internal("unexpected error", err)
		}
	}
	status, level := Status(e.Kind)
	if o := observationFrom(ctx); o != nil {
		o.noteProblem(e, err, level) // Serve logs it in the request's one line
	} else {
		l.Log(ctx, level, "request failed", "status", status, "code", e.Code, "error", err.Error())
	}
	p := ProblemBody{
		Type:      "/problems/" + e.Code,
		Title:     http.StatusText(status),
		Status:    status,
		Code:      e.Code,
		Detail:    e.Detail,
		Instance:  req.RawPath,
		RequestID: req.RequestContext.RequestID,
		Errors:    e.Fields,
	}
	if e.Kind == apperr.KindInternal {
		p.Detail = "internal error"
	}
	body := map[string]any{}
	raw, _ := json.Marshal(p)
	_ = json.Unmarshal(raw, &body)
	for k, v := range e.Extra {
		if _, taken := body[k]; !taken {
			body[k] = v
		}
	}
	b, _ := json.Marshal(body)
	headers := map[string]string{"Content-Type": "application/problem+json"}
	if ra, ok := e.Extra["retryAfterSeconds"]; ok {
		headers["Retry-After"] = fmt.Sprint(ra)
	}
	if e.Kind == apperr.KindUnavailable {
		headers["Retry-After"] = "1"
	}
	return Response{StatusCode: status, Headers: headers, Body: string(b)}
}

// ETag formats a version as a strong entity tag.
func ETag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// IfMatch reads the If-Match header: the version the caller last saw, or 0
// when the header is absent. A malformed or weak tag is a 400.
func IfMatch(req Request) (int64, error) {
	v := Header(req, "If-Match")
	if v == "" {
		return 0, nil
	}
	if len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' {
		return 0, apperr.Invalid("bad_if_match", "If-Match must be an ETag this API returned, like \"3\"")
	}
	n, err := strconv.ParseInt(v[1:len(v)-1], 10, 64)
	if err != nil || n < 1 {
		return 0, apperr.Invalid("bad_if_match", "If-Match must be an ETag this API returned, like \"3\"")
	}
	return n, nil
}

// Header reads a header case-insensitively (API Gateway lower-cases them).
func Header(req Request, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if equalFold(k, name) {
			return v
		}
	}
	return ""
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
