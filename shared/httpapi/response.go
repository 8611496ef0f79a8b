// Package httpapi is the glue between API Gateway HTTP API (payload format
// 2.0) and the domain: Server.Serve, which applies each route table row's
// options (caller, API key refusal, Idempotency-Key, If-Match, body limit,
// no-store) before a function's operation runs; strict JSON decoding,
// problem+json errors, ETags, Idempotency-Key replays and request-scoped
// structured logs.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/apperr"
)

// Request and Response are the HTTP API v2 payloads.
type (
	Request  = events.APIGatewayV2HTTPRequest
	Response = events.APIGatewayV2HTTPResponse
)

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
