// Package licences counts the seats of each licence type an account has
// purchased and uses. A member needs a licence to sign in to an account
// (shared/auth refuses a membership without one).
//
// Each (account, licence type) is one pool item (table.LicencePool) with
// "purchased" and "used". Seats used never exceed seats purchased because
// every write that gives a member a licence carries TakeSeat — an ADD of one
// to "used" under the condition used < purchased — in the same transaction
// as the membership change; racing assignments of the last seat therefore
// succeed exactly as many times as there are free seats. Whatever takes a
// licence away (a change, a removed membership, a deleted user) carries
// ReleaseSeat the same way.
//
// Seam for other writers of memberships: an invitation's accept (or any
// code that puts a licensed membership) keeps the counts exact by adding
// TakeSeat to its transaction. A pool first set up by SetPurchased counts the
// members already holding the type, so memberships made before the account
// had seats of that type are counted from then on.
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
	Purchased int64     `dynamodbav:"purchased"`
	Used      int64     `dynamodbav:"used"`
	Version   int64     `dynamodbav:"version"`
	UpdatedAt time.Time `dynamodbav:"updatedAt"`
}

// NewPool builds a pool item.
func NewPool(t table.Tenant, accountID, licence string, purchased, used int64, now time.Time) Pool {
	k := t.LicencePool(accountID, licence)
	return Pool{PK: k.PK, SK: k.SK, Type: "LICENCE_POOL", AccountID: accountID, Licence: licence, Purchased: purchased, Used: used,
		Version: 1, UpdatedAt: now}
}

// View is a pool as the API shows it.
type View struct {
	Licence   string `json:"licence"`
	Purchased int64  `json:"purchased"`
	Used      int64  `json:"used"`
	Free      int64  `json:"free"`
	Version   int64  `json:"version"`
}

// ViewOf shows a pool. Free is never negative, even for an account that
// held more members of a type than it bought when its seats were first set.
func ViewOf(p Pool) View {
	return View{Licence: p.Licence, Purchased: p.Purchased, Used: p.Used, Free: max(p.Purchased-p.Used, 0), Version: p.Version}
}

// MaxSeats bounds the seats of one type in one account.
const MaxSeats = 1_000_000

var typeName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9_-]{0,39}$`) }) // compiled on first use, not at init

// ValidType reports whether name can be a licence type (office, intranet,
// guest...): lower-case letters, digits, '-' and '_', starting with a letter.
func ValidType(name string) bool { return typeName().MatchString(name) }

// ErrNoFreeSeat refuses an assignment when every purchased seat is used.
var ErrNoFreeSeat = apperr.New(apperr.KindConflict, "no_free_seat",
	"every purchased seat of this licence is in use: free one or buy more")

// TakeSeat is the transaction item that uses one seat of licence in
// accountID: only if the pool exists and has a free seat.
func TakeSeat(t table.Tenant, accountID, licence string) *store.Write {
	upd := expression.Add(expression.Name("used"), expression.Value(1))
	return store.Update(t.LicencePool(accountID, licence), upd).
		If(store.Exists().And(expression.Name("used").LessThan(expression.Name("purchased")))).
		OrFail(ErrNoFreeSeat.Withf("no free seat of licence %q in this account: every purchased seat is in use, or none was bought", licence))
}

// ReleaseSeat is the transaction item that frees one seat of licence in
// accountID. Include it only for a pool that exists with used > 0 (see
// Releases); its condition keeps "used" from going negative.
func ReleaseSeat(t table.Tenant, accountID, licence string) *store.Write {
	upd := expression.Add(expression.Name("used"), expression.Value(-1))
	return store.Update(t.LicencePool(accountID, licence), upd).
		If(store.Exists().And(expression.Name("used").GreaterThan(expression.Value(0)))).
		OrFail(errSeatsChanged)
}

var errSeatsChanged = apperr.New(apperr.KindConflict, "seats_changed", "the account's seats changed meanwhile; retry")

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
