// Package attempts is the one limiter of every check of a secret: a
// password at sign-in, the current password of a password change, an
// Admin's re-entered password (and, later, second-factor codes). Each check
// is counted in three scopes:
//   - per email and client address: a few failures, then a lock-out that
//     doubles each time (from the tenant's perClientLockSeconds up to a day),
//     so the rightful user signing in from elsewhere is not locked out by
//     someone else's failures;
//   - per email, from anywhere: a much higher limit, for attackers with many
//     addresses;
//   - per client address, across emails: password spraying.
//
// An attempt is reserved before the secret is verified: one
// TransactWriteItems adds it to the three counters on the condition that
// each is still at the count and window read (optimistic, retried on a
// race) and not locked; the reservation that reaches a scope's limit sets
// its lock in the same write. So N concurrent guesses never verify more
// than the limit, and a locked scope answers 429 without verifying
// anything. A failure needs no further write: its reservation is its count.
// Only a successful proof by the rightful owner resets the per-email
// counters (in the same transaction as what it proves, e.g. the new
// session); it gives back its own reservation of the address counter,
// nothing more, so an attacker's own successes cannot wash out their
// failures.
//
// The client address is the gateway's requestContext.http.sourceIp, never
// a header the client sets.
package attempts

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// ErrTooMany refuses a check while one of its scopes is locked (429, with
// retryAfterSeconds and the Retry-After header).
var ErrTooMany = apperr.New(apperr.KindRateLimited, "too_many_sign_in_attempts", "too many failed attempts; wait and try again")

// Windows in which failures add up, and the longest lock-out.
const (
	ClientWindow  = 15 * time.Minute
	EmailWindow   = time.Hour
	AddressWindow = 15 * time.Minute
	MaxLock       = 24 * time.Hour
	maxRaces      = 8
)

// Limiter counts checks in the store.
type Limiter struct {
	Store *store.Store
	Clock clock.Clock
}

// Check is one check of a secret: whose (the email, existing or not) and
// from where (the client address), under the tenant's limits.
type Check struct {
	Tenant  table.Tenant
	Email   string // normalised
	Address string // requestContext.http.sourceIp; "" when unknown
	Limits  tenancy.Limits
}

// counter is one scope's item.
type counter struct {
	PK          string `dynamodbav:"PK"`
	SK          string `dynamodbav:"SK"`
	Type        string `dynamodbav:"type"`
	Count       int    `dynamodbav:"count"`
	WindowEnd   int64  `dynamodbav:"windowEnd"`
	LockedUntil int64  `dynamodbav:"lockedUntil"`
	Level       int    `dynamodbav:"level"`
	TTL         int64  `dynamodbav:"ttl"` // clean-up only
}

type scope struct {
	key    table.Key
	max    int
	window time.Duration
	lock   time.Duration // the first lock-out; each next one doubles
	reset  bool          // a successful proof resets it (per email); else it gives back its reservation
}

func (c Check) scopes() []scope {
	addr := c.Address
	if addr == "" {
		addr = "unknown"
	}
	l := c.Limits
	if l.PerClientFailures == 0 {
		l = tenancy.Settings{Limits: l}.Limit()
	}
	return []scope{
		{c.Tenant.Attempts("CLIENT", c.Email+"#"+addr), l.PerClientFailures, ClientWindow, time.Duration(l.PerClientLockSecs) * time.Second, true},
		{c.Tenant.Attempts("EMAIL", c.Email), l.PerEmailFailures, EmailWindow, time.Duration(l.PerEmailLockSecs) * time.Second, true},
		{c.Tenant.Attempts("ADDRESS", addr), l.PerAddressFailures, AddressWindow, time.Duration(l.PerAddressLockSecs) * time.Second, false},
	}
}

// Reservation is an attempt counted in every scope, before its check.
type Reservation struct {
	check  Check
	scopes []scope
	after  []counter // each scope as the reservation left it
}

// Reserve counts one attempt of c in each scope, or refuses (429) while a
// scope is locked. Run the check only after it succeeds.
func (l Limiter) Reserve(ctx context.Context, c Check) (*Reservation, error) {
	sc := c.scopes()
	keys := make([]table.Key, len(sc))
	for i, s := range sc {
		keys[i] = s.key
	}
	for race := 0; race < maxRaces; race++ {
		if race > 0 {
			if err := clock.Sleep(ctx, time.Duration(rand.N(10*race+1))*time.Millisecond); err != nil {
				return nil, err
			}
		}
		items, err := l.Store.GetMany(ctx, keys)
		if err != nil {
			return nil, fmt.Errorf("read attempts: %w", err)
		}
		now := l.Clock.Now()
		res := &Reservation{check: c, scopes: sc, after: make([]counter, len(sc))}
		writes := make([]*store.Write, len(sc))
		var wait int64
		for i, s := range sc {
			var cur counter
			it, exists := items[s.key]
			if exists {
				if err := attributevalue.UnmarshalMap(it, &cur); err != nil {
					return nil, apperr.Internal("decode attempts", err)
				}
			}
			read := cur.Count
			cur.Count = max(cur.Count, 0) // a give-back after the window turned
			if cur.LockedUntil > now.Unix() {
				wait = max(wait, cur.LockedUntil-now.Unix())
				continue
			}
			next := cur
			next.PK, next.SK, next.Type = s.key.PK, s.key.SK, "ATTEMPTS"
			if !exists || cur.WindowEnd <= now.Unix() {
				next.Count, next.WindowEnd = 0, now.Add(s.window).Unix()
			}
			if next.Count >= s.max { // a reservation at the limit is verifying now
				wait = max(wait, 1)
				continue
			}
			next.Count++
			fresh := !exists || next.WindowEnd != cur.WindowEnd
			locking := next.Count >= s.max
			if locking {
				// This attempt is the last the scope allows: it locks the
				// scope now, and a success by the rightful owner lifts it.
				lock := min(s.lock<<min(cur.Level, 20), MaxLock)
				next.LockedUntil, next.Level, next.Count = now.Add(lock).Unix(), cur.Level+1, 0
				next.WindowEnd = next.LockedUntil
			}
			next.TTL = max(next.WindowEnd, next.LockedUntil) + int64(MaxLock/time.Second)
			res.after[i] = next
			if !fresh && !locking {
				// Within the window and short of the limit: a plain ADD on the
				// condition that the count still leaves room, so concurrent
				// attempts (many people behind one address) do not race for
				// one exact count; only the attempt that reaches the limit
				// does (below), to set the lock.
				count := expression.Name("count")
				writes[i] = store.Update(s.key, expression.Add(count, expression.Value(1))).
					If(count.LessThanEqual(expression.Value(s.max - 2)).And(store.Is("windowEnd", cur.WindowEnd)).And(store.Is("lockedUntil", cur.LockedUntil))).
					OrFail(errRaced)
				continue
			}
			cond := store.NotExists()
			if exists {
				cond = store.Is("count", read).And(store.Is("windowEnd", cur.WindowEnd)).And(store.Is("lockedUntil", cur.LockedUntil))
			}
			writes[i] = store.Put(next).If(cond).OrFail(errRaced)
		}
		if wait > 0 {
			return nil, ErrTooMany.With("retryAfterSeconds", wait)
		}
		err = l.Store.Transact(ctx, "reserve an attempt", writes...)
		if err == nil {
			return res, nil
		}
		if apperr.KindOf(err) != apperr.KindConflict {
			return nil, err
		}
	}
	return nil, ErrTooMany.With("retryAfterSeconds", int64(1))
}

var errRaced = apperr.New(apperr.KindConflict, "attempts_raced", "another attempt was counted at the same moment")

// Succeeded is the writes of a successful proof, for the transaction of
// what it proves (a new session, a new password); none has a condition, so
// they never make that transaction fail. The per-email counters start
// again; the address counter gets this reservation back, unless this very
// reservation reached its limit and locked it: an address that many
// attempts came from stays locked, whoever succeeded last.
func (r *Reservation) Succeeded() []*store.Write {
	var out []*store.Write
	for i, s := range r.scopes {
		a := r.after[i]
		switch {
		case s.reset:
			out = append(out, store.Delete(s.key))
		case a.Count == 0: // this very reservation locked it
		default:
			out = append(out, store.Update(s.key, expression.Add(expression.Name("count"), expression.Value(-1))))
		}
	}
	return out
}

// Done commits a successful proof's writes on their own, when no other
// change goes with them.
func (l Limiter) Done(ctx context.Context, r *Reservation) error {
	return l.Store.Transact(ctx, "reset attempts", r.Succeeded()...)
}
