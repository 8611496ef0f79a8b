package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Idempotency makes retried POSTs safe. The first request with an
// Idempotency-Key claims the key (a conditional put), runs, and stores its
// response with a hash of the request; a retry with the same key and the same
// request gets that response again, with another request it gets 422, and
// while the first is still running it gets 409. Failures are not stored, so a
// retry after an error runs again, and so does one after an answer marked
// Cache-Control: no-store (it holds a secret, which is never stored).
// Server.Serve wraps the routes whose row is Idempotent; routes whose
// answers always carry secrets (sign-in, accept) are not.
type Idempotency struct {
	Store *store.Store
	Clock clock.Clock
	// Scope names whose keys these are (tenant and caller); keys of different
	// callers never collide.
	Scope func(context.Context, Request) (table.Tenant, string, error)
}

// Retention of stored responses, and how long a claim may run before another
// request may take it over (a crashed invocation).
const (
	IdempotencyRetention = 24 * time.Hour
	idempotencyLease     = 60 * time.Second
	maxIdempotencyKey    = 255
)

type idempotencyRecord struct {
	PK          string            `dynamodbav:"PK"`
	SK          string            `dynamodbav:"SK"`
	Type        string            `dynamodbav:"type"`
	RequestHash string            `dynamodbav:"requestHash"`
	State       string            `dynamodbav:"state"` // running, done
	LeaseUntil  int64             `dynamodbav:"leaseUntil"`
	Status      int               `dynamodbav:"status,omitempty"`
	Headers     map[string]string `dynamodbav:"headers,omitempty"`
	Body        string            `dynamodbav:"body,omitempty"`
	TTL         int64             `dynamodbav:"ttl"`
}

// Wrap makes h honour Idempotency-Key.
func (i Idempotency) Wrap(h Handler) Handler {
	return func(ctx context.Context, req Request) (Response, error) {
		key := Header(req, "Idempotency-Key")
		if key == "" {
			return h(ctx, req)
		}
		if len(key) > maxIdempotencyKey || !printable(key) {
			return Response{}, apperr.Invalid("bad_idempotency_key", "Idempotency-Key must be 1 to 255 printable ASCII characters")
		}
		t, scope, err := i.Scope(ctx, req)
		if err != nil {
			return Response{}, err
		}
		k := t.Idempotency(scope, key)
		now := i.Clock.Now()
		hash := requestHash(req)
		claim := idempotencyRecord{PK: k.PK, SK: k.SK, Type: "IDEMPOTENCY", RequestHash: hash, State: "running",
			LeaseUntil: now.Add(idempotencyLease).Unix(), TTL: now.Add(IdempotencyRetention).Unix()}
		stale := expression.Name("state").Equal(expression.Value("running")).
			And(expression.Name("leaseUntil").LessThan(expression.Value(now.Unix())))
		err = i.Store.Do(ctx, "claim idempotency key", store.Put(claim).If(store.NotExists().Or(stale)).OrFail(errKeyTaken))
		if errors.Is(err, errKeyTaken) {
			return i.replay(ctx, k, hash)
		}
		if err != nil {
			return Response{}, err
		}
		resp, herr := h(ctx, req)
		if herr != nil || resp.StatusCode >= 300 || resp.Headers["Cache-Control"] == "no-store" {
			// Nothing to replay (a failure, or an answer that holds a
			// secret and is never stored): free the key so the client can
			// retry.
			if derr := i.Store.Do(ctx, "release idempotency key", store.Delete(k)); derr != nil && herr == nil {
				return resp, derr
			}
			return resp, herr
		}
		done := claim
		done.State, done.Status, done.Headers, done.Body = "done", resp.StatusCode, resp.Headers, resp.Body
		if err := i.Store.Do(ctx, "store idempotent response", store.Put(done)); err != nil {
			return Response{}, err
		}
		return resp, nil
	}
}

var errKeyTaken = apperr.New(apperr.KindConflict, "idempotency_key_taken", "key taken")

func (i Idempotency) replay(ctx context.Context, k table.Key, hash string) (Response, error) {
	var rec idempotencyRecord
	ok, err := i.Store.Get(ctx, k, &rec)
	if err != nil {
		return Response{}, err
	}
	switch {
	case !ok:
		return Response{}, apperr.ErrIdempotencyBusy // released between our put and get: retry
	case rec.RequestHash != hash:
		return Response{}, apperr.ErrIdempotencyReuse
	case rec.State != "done":
		return Response{}, apperr.ErrIdempotencyBusy
	}
	headers := map[string]string{}
	for hk, hv := range rec.Headers {
		headers[hk] = hv
	}
	headers["Idempotent-Replayed"] = "true"
	return Response{StatusCode: rec.Status, Headers: headers, Body: rec.Body}, nil
}

func requestHash(req Request) string {
	h := sha256.New()
	for _, part := range []string{req.RouteKey, req.RawPath, req.RawQueryString, req.Body} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
