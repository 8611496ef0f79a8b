// Package licences holds a tenant's catalogue of licence types and counts
// the seats of each type an account has and uses. A member needs a licence
// to sign in to an account (shared/auth refuses a membership without one).
//
// The catalogue (catalogue.go) is the tenant's list of licence types: a
// type not in it, or retired, is refused (422) wherever a type is given.
//
// Each (account, licence type) is one pool item (table.LicencePool) with
// "purchased" (seats bought explicitly), "used" (members holding the type),
// "reserved" (pending invitations holding a seat) and "held" (used +
// reserved, kept in every write because a condition cannot add). The seats
// an account has of a type are its capacity:
//
//	capacity = plan seats of the type (or the account's "licence:<type>"
//	           override, which replaces them) + purchased
//
// Every write that gives a member a licence or reserves a seat for an
// invitation carries Seats.Take or Seats.Reserve: "held + 1" under the
// condition held < capacity (and purchased as read), in the same
// transaction as the membership or invitation; racing writers therefore
// succeed exactly as many times as there are free seats. Accepting converts
// a reservation (reserved - 1, used + 1, held unchanged); revoke and expiry
// release it; whatever takes a licence away carries ReleaseSeat.
//
// A type is metered in an account when the catalogue says so (office,
// intranet, guest) or when the account has seats of it (a pool, plan seats
// or an override); an unmetered type (the tenant's historical default,
// "standard") needs no seat. A pool is created by the first write that needs
// it, counting the members who held the type before.
package licences

import (
	"context"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Pool is the seats of one licence type in one account.
type Pool struct {
	PK        string    `dynamodbav:"PK"`
	SK        string    `dynamodbav:"SK"`
	Type      string    `dynamodbav:"type"`
	AccountID string    `dynamodbav:"accountId"`
	Licence   string    `dynamodbav:"licence"`
	Purchased int64     `dynamodbav:"purchased"` // bought explicitly, beside the plan's
	Used      int64     `dynamodbav:"used"`
	Reserved  int64     `dynamodbav:"reserved"` // held by pending invitations
	Held      int64     `dynamodbav:"held"`     // used + reserved
	Version   int64     `dynamodbav:"version"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

const typePool = "LICENCE_POOL"

// NewPool builds a pool item.
func NewPool(t table.Tenant, accountID, licence string, purchased, used int64, now time.Time) Pool {
	k := t.LicencePool(accountID, licence)
	return Pool{PK: k.PK, SK: k.SK, Type: typePool, AccountID: accountID, Licence: licence, Purchased: purchased, Used: used,
		Held: used, Version: 1, UpdatedAt: now}
}

// View is a pool as the API shows it.
type View struct {
	Licence   string `json:"licence"`
	Purchased int64  `json:"purchased"` // bought explicitly
	Planned   int64  `json:"planned"`   // from the plan or the account's override
	Seats     int64  `json:"seats"`     // planned + purchased
	Used      int64  `json:"used"`
	Reserved  int64  `json:"reserved"`
	Free      int64  `json:"free"`
	Version   int64  `json:"version"`
}

// ViewOf shows a pool without plan seats.
func ViewOf(p Pool) View { return Seats{Licence: p.Licence, AccountID: p.AccountID, Pool: p}.View() }

// MaxSeats bounds the seats of one type in one account.
const MaxSeats = 1_000_000

var typeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// ValidType reports whether name can be a licence type (office, intranet,
// guest...): lower-case letters, digits, '-' and '_', starting with a letter.
// Whether the tenant has that type is the catalogue's answer (Catalogue.Check).
func ValidType(name string) bool { return typeName().MatchString(name) }

// ErrNoFreeSeat refuses an assignment, an accept or an invitation when
// every seat is used or reserved.
var ErrNoFreeSeat = apperr.New(apperr.KindConflict, "no_free_seat",
	"every seat of this licence is in use or reserved by a pending invitation: free one or buy more")

// Seats is what decides the seats of one licence type in one account, as
// read for one write: the pool (if any), the plan's or override's seats,
// and whether the type is metered there.
type Seats struct {
	AccountID string
	Licence   string
	Planned   int64 // plan seats, or the override that replaces them
	Metered   bool
	Pool      Pool
	Exists    bool  // the pool item exists
	Holders   int64 // members holding the type, counted when the pool does not exist yet
}

// Capacity is the seats the account has: planned + purchased.
func (s Seats) Capacity() int64 { return s.Planned + s.Pool.Purchased }

// Free is the seats neither used nor reserved (never negative, even after
// a plan downgrade below the seats in use).
func (s Seats) Free() int64 {
	if !s.Exists {
		return max(s.Capacity()-s.Holders, 0)
	}
	return max(s.Capacity()-s.Pool.Held, 0)
}

// View shows the seats.
func (s Seats) View() View {
	p := s.Pool
	used := p.Used
	if !s.Exists {
		used = s.Holders
	}
	return View{Licence: s.Licence, Purchased: p.Purchased, Planned: s.Planned, Seats: s.Capacity(), Used: used, Reserved: p.Reserved,
		Free: s.Free(), Version: p.Version}
}

// NoFreeSeat is the 409 for these seats, with their figures and, when the
// tenant has one, the link where more are bought.
func (s Seats) NoFreeSeat(purchaseURL string) error {
	v := s.View()
	detail := fmt.Sprintf("no free seat of licence %q in account %s: %d seats, %d used, %d reserved by pending invitations",
		s.Licence, s.AccountID, v.Seats, v.Used, v.Reserved)
	if purchaseURL != "" {
		detail += "; buy more at " + purchaseURL
	}
	e := ErrNoFreeSeat.Withf("%s", detail).With("accountId", s.AccountID).With("licence", s.Licence).
		With("purchased", v.Seats).With("used", v.Used).With("reserved", v.Reserved).With("free", v.Free)
	if purchaseURL != "" {
		e = e.With("purchaseUrl", purchaseURL)
	}
	return e
}

// Take is the transaction item that uses one seat for a new holder; nil
// when the type is unmetered there (then a check that no pool appeared).
func (s Seats) Take(t table.Tenant, purchaseURL string) *store.Write {
	return s.grow(t, "used", purchaseURL)
}

// Reserve is the transaction item that reserves one seat for a pending
// invitation.
func (s Seats) Reserve(t table.Tenant, purchaseURL string) *store.Write {
	return s.grow(t, "reserved", purchaseURL)
}

func (s Seats) grow(t table.Tenant, counter, purchaseURL string) *store.Write {
	k := t.LicencePool(s.AccountID, s.Licence)
	if !s.Metered {
		return store.Check(k, store.NotExists()).OrFail(ErrSeatsChanged)
	}
	one := expression.Value(1)
	start := s.Holders // a new pool starts with the members holding the type
	if s.Exists {
		start = 0
	}
	startOf := map[string]int64{"used": start, "reserved": 0}
	upd := expression.Set(expression.Name("held"), expression.Plus(expression.IfNotExists(expression.Name("held"), expression.Value(start)), one)).
		Set(expression.Name(counter), expression.Plus(expression.IfNotExists(expression.Name(counter), expression.Value(startOf[counter])), one)).
		Set(expression.Name("type"), expression.IfNotExists(expression.Name("type"), expression.Value(typePool))).
		Set(expression.Name("accountId"), expression.IfNotExists(expression.Name("accountId"), expression.Value(s.AccountID))).
		Set(expression.Name("licence"), expression.IfNotExists(expression.Name("licence"), expression.Value(s.Licence))).
		Set(expression.Name("purchased"), expression.IfNotExists(expression.Name("purchased"), expression.Value(0))).
		Set(expression.Name("version"), expression.IfNotExists(expression.Name("version"), expression.Value(1)))
	if counter == "used" {
		upd = upd.Set(expression.Name("reserved"), expression.IfNotExists(expression.Name("reserved"), expression.Value(0)))
	} else {
		upd = upd.Set(expression.Name("used"), expression.IfNotExists(expression.Name("used"), expression.Value(start)))
	}
	// The seats as read: purchased unchanged and held below the capacity.
	// A pool that did not exist may have been created meanwhile by a racer:
	// the same condition then judges it.
	cond := store.Is("purchased", s.Pool.Purchased).And(expression.Name("held").LessThan(expression.Value(s.Capacity())))
	if !s.Exists {
		if start+1 > s.Capacity() {
			// No seat even for the first writer: the condition can never hold.
			cond = store.Is("purchased", -1)
		} else {
			cond = store.NotExists().Or(cond)
		}
	}
	return store.Update(k, upd).If(cond).OrFail(s.NoFreeSeat(purchaseURL))
}

// Convert is the transaction item that turns an invitation's reservation
// into a used seat, at accept: held stays as it is.
func Convert(t table.Tenant, accountID, licence string) *store.Write {
	upd := expression.Add(expression.Name("used"), expression.Value(1)).Add(expression.Name("reserved"), expression.Value(-1))
	return store.Update(t.LicencePool(accountID, licence), upd).
		If(store.Exists().And(expression.Name("reserved").GreaterThan(expression.Value(0)))).
		OrFail(ErrSeatsChanged)
}

// Unreserve is the transaction item that releases an invitation's
// reservation (revoke, expiry, or an accept where the invitee was a member
// already).
func Unreserve(t table.Tenant, accountID, licence string) *store.Write {
	upd := expression.Add(expression.Name("reserved"), expression.Value(-1)).Add(expression.Name("held"), expression.Value(-1))
	return store.Update(t.LicencePool(accountID, licence), upd).
		If(store.Exists().And(expression.Name("reserved").GreaterThan(expression.Value(0)))).
		OrFail(ErrSeatsChanged)
}

// ReleaseSeat is the transaction item that frees one used seat of licence
// in accountID. Include it only for a pool that exists with used > 0 (see
// Releases); its condition keeps "used" from going negative.
func ReleaseSeat(t table.Tenant, accountID, licence string) *store.Write {
	upd := expression.Add(expression.Name("used"), expression.Value(-1)).Add(expression.Name("held"), expression.Value(-1))
	return store.Update(t.LicencePool(accountID, licence), upd).
		If(store.Exists().And(expression.Name("used").GreaterThan(expression.Value(0)))).
		OrFail(ErrSeatsChanged)
}

// Buy sets the seats bought explicitly of an existing pool to purchased at
// now, conditioned on the pool's version as read and on the seats held
// fitting the new capacity (planned + purchased), so a purchase never
// leaves more seats held than the account has.
func Buy(t table.Tenant, accountID, licence string, version, planned, purchased int64, now time.Time) *store.Write {
	return store.Update(t.LicencePool(accountID, licence), store.BumpVersion().
		Set(expression.Name("purchased"), expression.Value(purchased)).
		Set(expression.Name("updatedAt"), expression.Value(now))).
		If(store.AtVersion(version).And(expression.Name("held").LessThanEqual(expression.Value(planned + purchased))))
}

// ErrSeatsChanged: the pool changed between the read and the write; retry.
var ErrSeatsChanged = apperr.New(apperr.KindConflict, "seats_changed", "the account's seats changed meanwhile; retry")

// Pools lists an account's pools (one Query on its partition).
func Pools(ctx context.Context, s *store.Store, t table.Tenant, accountID string) ([]Pool, error) {
	items, err := s.QueryAll(ctx, store.Query{Partition: t.LicencePool(accountID, "").PK, SKPrefix: table.LicencePoolPrefix}, 500)
	if err != nil {
		return nil, fmt.Errorf("read licences of %s: %w", accountID, err)
	}
	var out []Pool
	if err := (store.Page{Items: items}).Decode(&out); err != nil {
		return nil, apperr.Internal("decode licence pools", err)
	}
	return out, nil
}

// Releases returns the writes that free the seats of the given (account,
// licence) pairs, reading the pools first: a pool that does not exist (the
// account never bought that type) or that counts no seat is left alone, so
// removing a member never fails on seat bookkeeping.
func Releases(ctx context.Context, s *store.Store, t table.Tenant, held []Held) ([]*store.Write, error) {
	var keys []table.Key
	for _, h := range held {
		if h.Licence != "" {
			keys = append(keys, t.LicencePool(h.AccountID, h.Licence))
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	items, err := s.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read licence pools: %w", err)
	}
	var out []*store.Write
	for _, h := range held {
		if h.Licence == "" {
			continue
		}
		it, ok := items[t.LicencePool(h.AccountID, h.Licence)]
		if !ok {
			continue
		}
		var p Pool
		if err := attributevalue.UnmarshalMap(it, &p); err != nil {
			return nil, apperr.Internal("decode licence pool", err)
		}
		if p.Used > 0 {
			out = append(out, ReleaseSeat(t, h.AccountID, h.Licence))
		}
	}
	return out, nil
}

// Held is a licence held in an account.
type Held struct{ AccountID, Licence string }
