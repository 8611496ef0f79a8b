package httpapi

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	routetable "github.com/acme/accountadmin/shared/routes"
)

// Handler serves one route. A returned error is a domain error (or wraps
// one); Serve turns it into problem+json.
type Handler func(ctx context.Context, req Request) (Response, error)

// LambdaHandler is what lambda.Start and the local API call.
type LambdaHandler func(ctx context.Context, req Request) (Response, error)

// Operation serves one row of the route table, given what Server.Serve
// read from the request as the row says (In). A returned error is a domain
// error (or wraps one); Serve turns it into problem+json.
type Operation func(ctx context.Context, in In) (Response, error)

// Ops are one function's operations by their row's Op (the operationId of
// shared/routes/openapi.json): the route keys stay in the route table.
type Ops map[string]Operation

// In is a request and what Server.Serve read from it, as its row says,
// before its operation runs.
type In struct {
	Request
	// Row is the request's route.
	Row routetable.Route
	// Caller is who calls, on an Auth row (the zero Caller on a public row).
	Caller access.Caller
	// IfMatch is the version the caller last saw, on an IfMatch row: 0 when
	// If-Match is absent (the service says whether it needs one).
	IfMatch int64
}

// Path is the path parameter name ("accountId" of /accounts/{accountId}).
func (in In) Path(name string) string { return in.PathParameters[name] }

// JSONBody is an operation that reads a JSON body into B first, strictly
// and within the row's BodyLimit (Decode), and gives it to fn.
func JSONBody[B any](fn func(ctx context.Context, in In, body B) (Response, error)) Operation {
	return func(ctx context.Context, in In) (Response, error) {
		var body B
		if err := DecodeMax(in.Request, &body, in.Row.BodyLimit); err != nil {
			return Response{}, err
		}
		return fn(ctx, in, body)
	}
}

// OptionalJSONBody is JSONBody for a row whose body may also be absent
// (empty or blank): fn then gets B's zero value.
func OptionalJSONBody[B any](fn func(ctx context.Context, in In, body B) (Response, error)) Operation {
	return func(ctx context.Context, in In) (Response, error) {
		var body B
		raw, err := Body(in.Request, in.Row.BodyLimit)
		if err != nil {
			return Response{}, err
		}
		if !blank(raw) {
			if err := DecodeMax(in.Request, &body, in.Row.BodyLimit); err != nil {
				return Response{}, err
			}
		}
		return fn(ctx, in, body)
	}
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' {
			return false
		}
	}
	return true
}

// Sessions resolves a bearer token to its caller, or says why not (an
// apperr of kind unauthenticated); *auth.Service is one. Any other error is
// an outage, never "signed out".
type Sessions interface {
	Authorize(ctx context.Context, rawToken string) (access.Caller, error)
}

// Server is what serving a function's routes needs besides its operations.
type Server struct {
	Log *slog.Logger
	// Sessions resolves the callers of Auth rows.
	Sessions Sessions
	// Idempotency stores the answers of Idempotent rows for their replays;
	// its Scope defaults to the caller's (access.IdempotencyScope).
	Idempotency Idempotency
}

// Serve serves one function's routes: ops holds an operation for every row
// of the route table (shared/routes) of that function, by the row's Op, and
// nothing else; anything else is a programming error, and Serve panics when
// the function starts. It dispatches by the request's route key, maps
// errors to problem+json, recovers panics as 500s, and writes one log line
// per request that is also its metric line (observe.go). The Go error it
// returns is always nil: every handled failure is a response, panics
// included. A non-nil error would make Lambda count a failed invocation,
// but the runtime then discards the response and API Gateway answers its
// own bare 500 without the problem body and its requestId; so 5xx answers
// and panics are counted instead by the Faults and Panics metrics, which
// the stack alarms on.
//
// Before an operation runs, Serve does what its row says, so that no
// operation can forget it:
//
//   - Auth: Serve resolves the request's Authorization: Bearer token with
//     Sessions, on every request (nothing is cached, so a revoked session
//     is refused on its next call), and answers 401 problem+json saying why
//     when there is none or it is refused; only then does the operation
//     run, with the caller in In.Caller and in its context
//     (access.CallerFrom). Nothing else in the request can make a caller:
//     an authorizer context in the event is ignored.
//   - NoKey: an API key is refused (403 api_key_refused).
//   - Idempotent: Idempotency-Key is honoured (Idempotency.Wrap): a retry
//     replays the first answer; an answer marked no-store (it holds a
//     secret) is never stored.
//   - IfMatch: If-Match is parsed into In.IfMatch (400 bad_if_match).
//   - BodyLimit: a larger body is 413 problem+json; JSONBody then decodes
//     it strictly within the same bound.
//   - NoStore: the answer carries Cache-Control: no-store.
func (s Server) Serve(ops Ops) LambdaHandler {
	function := ""
	for op := range ops {
		r, ok := routetable.LookupOp(op)
		if !ok {
			panic(fmt.Sprintf("httpapi: %s is not an operation of the route table (shared/routes)", op))
		}
		if function != "" && r.Function != function {
			fns := []string{function, r.Function}
			slices.Sort(fns)
			panic(fmt.Sprintf("httpapi: the operations are of two functions, %s and %s: each function serves its own rows", fns[0], fns[1]))
		}
		function = r.Function
	}
	if function == "" {
		panic("httpapi: no operations to serve")
	}
	handlers := map[string]route{}
	for _, r := range routetable.Table {
		if r.Function != function {
			continue
		}
		op, ok := ops[r.Op]
		if !ok {
			panic(fmt.Sprintf("httpapi: the route table routes %s to %s, which has no operation %s", r.Key(), function, r.Op))
		}
		h := operation(r, op)
		if r.Idempotent {
			if s.Idempotency.Store == nil {
				panic(fmt.Sprintf("httpapi: %s honours Idempotency-Key but the Server has no Idempotency store", r.Key()))
			}
			i := s.Idempotency
			if i.Scope == nil {
				i.Scope = access.IdempotencyScope
			}
			h = i.Wrap(h)
		}
		handlers[r.Key()] = route{row: r, handler: h}
	}
	return serve(s.Log, s.Sessions, handlers)
}

// operation is op behind the row's If-Match and body limit.
func operation(r routetable.Route, op Operation) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		in := In{Request: req, Row: r}
		if r.Auth {
			in.Caller, _ = access.CallerFrom(ctx)
		}
		if r.IfMatch {
			v, err := IfMatch(req)
			if err != nil {
				return Response{}, err
			}
			in.IfMatch = v
		}
		if r.BodyLimit > 0 {
			if err := withinLimit(req, r.BodyLimit); err != nil {
				return Response{}, err
			}
		}
		return op(ctx, in)
	}
}

// withinLimit is Body's bound, without decoding or copying the body: an
// undecodable base64 body is left to the operation's decoding (400).
func withinLimit(req Request, max int) error {
	n := len(req.Body)
	if req.IsBase64Encoded {
		raw := req.Body
		for i := 0; i < 2 && strings.HasSuffix(raw, "="); i++ {
			raw = raw[:len(raw)-1]
		}
		n = len(raw) * 3 / 4
	}
	if n > max {
		return TooLarge(max)
	}
	return nil
}

// route is a registered row and what serves it.
type route struct {
	row     routetable.Route
	handler Handler
}

func serve(log *slog.Logger, sessions Sessions, routes map[string]route) LambdaHandler {
	for key, r := range routes {
		if r.row.Auth && sessions == nil {
			panic(fmt.Sprintf("httpapi: %s needs a caller but the Server has no Sessions", key))
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
		r, ok := routes[req.RouteKey]
		if !ok {
			return Problem(l, ctx, req, apperr.ErrNotFound.Withf("no route %s", req.RouteKey)), nil
		}
		if r.row.Auth {
			caller, err := resolveCaller(ctx, sessions, req)
			if err != nil {
				return Problem(l, ctx, req, err), nil
			}
			obs.caller = &caller
			if caller.IsKey() && r.row.NoKey {
				return Problem(l, ctx, req, ErrKeyRefused), nil
			}
			ctx = access.WithCaller(ctx, caller)
		}
		resp, err := r.handler(ctx, req)
		if err != nil {
			return Problem(l, ctx, req, err), nil
		}
		if r.row.NoStore {
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
