// Package apperr is the one list of domain errors. Every error a handler can
// answer with is an *Error of one Kind; httpapi maps each Kind to a status, a
// problem+json body and a log level in one place.
package apperr

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	KindInternal           Kind = iota // a bug or an outage: 500, logged at Error
	KindInvalid                        // malformed request: 400
	KindUnauthenticated                // no valid session: 401
	KindForbidden                      // signed in but not allowed: 403
	KindNotFound                       // no such thing (or not yours): 404
	KindConflict                       // state forbids it (taken, last admin...): 409
	KindGone                           // it existed but is used up, revoked or expired: 410
	KindPreconditionFailed             // stale If-Match / version: 412
	KindTooLarge                       // body over the limit: 413
	KindUnprocessable                  // well-formed but wrong: 422
	KindRateLimited                    // too many attempts: 429
	KindUnavailable                    // a dependency is throttling or down, retry later: 503
)

// FieldError names one invalid input field.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Error is a domain error with a stable code and a human detail.
type Error struct {
	Kind   Kind
	Code   string         // stable, snake_case, part of the API contract
	Detail string         // for humans; never contains secrets
	Fields []FieldError   // per-field validation errors
	Extra  map[string]any // extra problem members (e.g. limit, resetAt)
	Err    error          // the cause, for logs only; never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Detail, e.Err)
	}
	return e.Code + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Is matches errors of the same Code, so sentinel values work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && t.Kind == e.Kind
}

// With returns a copy of e carrying extra problem members.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Extra = make(map[string]any, len(e.Extra)+1)
	for k, v := range e.Extra {
		c.Extra[k] = v
	}
	c.Extra[key] = value
	return &c
}

// Withf returns a copy of e with a more specific detail.
func (e *Error) Withf(format string, args ...any) *Error {
	c := *e
	c.Detail = fmt.Sprintf(format, args...)
	return &c
}

// New makes a domain error.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Invalid is a 400 for malformed input.
func Invalid(code, detail string) *Error { return New(KindInvalid, code, detail) }

// Validation is a 422 listing every bad field at once.
func Validation(fields ...FieldError) *Error {
	return &Error{Kind: KindUnprocessable, Code: "validation_failed", Detail: "the request has invalid fields", Fields: fields}
}

// Internal wraps an unexpected failure; its detail never reaches the caller.
func Internal(what string, err error) *Error {
	return &Error{Kind: KindInternal, Code: "internal", Detail: what, Err: err}
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// KindOf returns the kind of err; errors that are not domain errors are internal.
func KindOf(err error) Kind {
	if e, ok := As(err); ok {
		return e.Kind
	}
	return KindInternal
}

// The shared catalogue. Packages add their own next to their domain, but the
// cross-cutting ones live here so every function answers them the same way.
var (
	ErrUnauthenticated  = New(KindUnauthenticated, "unauthenticated", "sign in first: the session is missing, expired or revoked")
	ErrForbidden        = New(KindForbidden, "forbidden", "you are not allowed to do this in this account")
	ErrNotFound         = New(KindNotFound, "not_found", "no such resource")
	ErrVersionConflict  = New(KindPreconditionFailed, "version_conflict", "the resource changed since you read it; reload and try again")
	ErrEmailTaken       = New(KindConflict, "email_taken", "a user with this email already exists")
	ErrBodyTooLarge     = New(KindTooLarge, "body_too_large", "the request body is too large")
	ErrMalformedJSON    = New(KindInvalid, "malformed_json", "the request body is not valid JSON")
	ErrBadCursor        = New(KindInvalid, "bad_cursor", "the cursor is not one this API issued")
	ErrIdempotencyReuse = New(KindUnprocessable, "idempotency_key_reused", "this Idempotency-Key was already used with a different request")
	ErrIdempotencyBusy  = New(KindConflict, "idempotency_key_in_progress", "a request with this Idempotency-Key is still being processed; retry shortly")
	ErrUnavailable      = New(KindUnavailable, "unavailable", "the service is busy; retry shortly")
	ErrRateLimited      = New(KindRateLimited, "rate_limited", "too many attempts; wait and retry")
)

// Fields collects validation failures so a request reports all of them at once.
type Fields []FieldError

// Add records one bad field.
func (f *Fields) Add(field, code, detail string) {
	*f = append(*f, FieldError{Field: field, Code: code, Detail: detail})
}

// Check records a bad field when ok is false.
func (f *Fields) Check(ok bool, field, code, detail string) {
	if !ok {
		f.Add(field, code, detail)
	}
}

// Err is nil when nothing was recorded, else a 422 listing every field.
func (f Fields) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Validation(f...)
}
