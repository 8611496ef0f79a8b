// Package backfill repairs items that older versions of the service wrote
// in a shape the current code no longer writes. Each repair is one-off and
// idempotent (running it again finds nothing to do), reads the tenant page
// by page with Queries (never a Scan), and changes each item with a
// conditional write, so it is safe beside live traffic.
package backfill

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Actor is who the repairs' change-log entries name.
var Actor = changelog.System("backfill")

// PageSize is how many items each Query page reads.
const PageSize = 100

// maxAttempts bounds the re-reads of one account whose links change while
// it is repaired.
const maxAttempts = 5

// Service runs the repairs on one table.
type Service struct {
	Store *store.Store
	Clock clock.Clock
	IDs   ids.Generator
}

// Report is what a repair found and changed.
type Report struct {
	Read     int `json:"read"`     // items examined
	Repaired int `json:"repaired"` // items changed
	Removed  int `json:"removed"`  // dangling items deleted
}

func (r Report) String() string {
	return fmt.Sprintf("%d read, %d repaired, %d removed", r.Read, r.Repaired, r.Removed)
}

// ChildCounts repairs the phantom children of parents: before wiping a
// child took it out of its parent's family, the parent kept its childCount
// (and so its role "parent") with no child behind it. Every account of the
// tenant with a childCount (the directory by creation instant, filtered)
// gets the count of its links whose child still exists and names it as
// parent; links to a child that is gone are deleted first. The new count
// is written on condition that the count is still the one read (a link or
// an unlink meanwhile makes the account read again), with an
// account.children_recounted entry in its change log; an account whose
// count is right is left alone. A count of 0 removes the attribute, so
// the account is no longer a parent.
func (s *Service) ChildCounts(ctx context.Context, t table.Tenant) (Report, error) {
	var rep Report
	hasChildren := accounts.HasChildren()
	ix := t.AccountsByCreated(time.Time{}, "")
	q := store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: table.AccountsCreatedPrefix, Limit: PageSize, Filter: &hasChildren}
	for {
		page, err := s.Store.QueryPage(ctx, q)
		if err != nil {
			return rep, fmt.Errorf("read parents: %w", err)
		}
		var parents []accounts.Account
		if err := page.Decode(&parents); err != nil {
			return rep, apperr.Internal("decode accounts", err)
		}
		for _, p := range parents {
			rep.Read++
			if err := s.recount(ctx, t, p.ID, &rep); err != nil {
				return rep, err
			}
		}
		if page.Cursor == "" {
			return rep, nil
		}
		q.Cursor = page.Cursor
	}
}

func (s *Service) recount(ctx context.Context, t table.Tenant, parentID string, rep *Report) error {
	for range maxAttempts {
		var p accounts.Account
		ok, err := s.Store.Get(ctx, t.Account(parentID), &p)
		if err != nil || !ok {
			return err
		}
		links, err := s.Store.QueryAll(ctx, store.Query{Partition: t.AccountPartition(parentID), SKPrefix: table.ChildPrefix}, 0)
		if err != nil {
			return fmt.Errorf("read links of %s: %w", parentID, err)
		}
		// A link's sort key names its child (table.Tenant.AccountLink).
		childIDs := make([]string, len(links))
		keys := make([]table.Key, len(links))
		for i, l := range links {
			childIDs[i] = strings.TrimPrefix(store.KeyOf(l).SK, table.ChildPrefix)
			keys[i] = t.Account(childIDs[i])
		}
		children := map[table.Key]accounts.Account{}
		for start := 0; start < len(keys); start += 100 {
			got, err := s.Store.GetMany(ctx, keys[start:min(start+100, len(keys))])
			if err != nil {
				return fmt.Errorf("read children of %s: %w", parentID, err)
			}
			for k, it := range got {
				var c accounts.Account
				if err := attributevalue.UnmarshalMap(it, &c); err != nil {
					return apperr.Internal("decode child", err)
				}
				children[k] = c
			}
		}
		var n int64
		for _, childID := range childIDs {
			c, ok := children[t.Account(childID)]
			switch {
			case ok && c.ParentID == parentID:
				n++
			case !ok:
				// A link to a child that is gone: it goes, on condition
				// that the child is still gone.
				err := s.Store.Transact(ctx, "delete dangling link "+parentID+"/"+childID,
					store.Delete(t.AccountLink(parentID, childID)).If(store.Exists()),
					store.Check(t.Account(childID), store.NotExists()))
				if err != nil && apperr.KindOf(err) != apperr.KindInternal {
					continue // it changed meanwhile: the next recount sees it
				}
				if err != nil {
					return err
				}
				rep.Removed++
			}
		}
		if n == p.ChildCount {
			return nil
		}
		now := s.Clock.Now()
		upd := accounts.WithChildCount(accounts.Edited(now), n)
		err = s.Store.Transact(ctx, "recount children of "+parentID,
			store.Update(t.Account(parentID), upd).If(accounts.CountsChildren(p.ChildCount)).OrFail(errRecountRaced),
			changelog.New(t, s.IDs.NewID(), now, parentID, Actor, "account.children_recounted", "account", parentID,
				map[string]any{"childCount": p.ChildCount}, map[string]any{"childCount": n, "reason": "children wiped by an earlier version"}).Write())
		if errors.Is(err, errRecountRaced) {
			continue
		}
		if err != nil {
			return err
		}
		rep.Repaired++
		return nil
	}
	return fmt.Errorf("recount children of %s: the links kept changing: %w", parentID, apperr.ErrUnavailable)
}

var errRecountRaced = apperr.New(apperr.KindConflict, "recount_raced", "the account's links changed meanwhile")

// AccessHistory gives the account key (GSI1, table.AccountAccess) to the
// access-history entries written before each entry carried it, so that
// they appear in their account's history too and not only in their
// user's. It reads the tenant's users (the directory by email), and for
// each the entries of their history that have an account and no account
// key, and sets the key on condition that the entry still has none.
// Deleted users are no longer in the directory: their old entries stay in
// their own history only.
func (s *Service) AccessHistory(ctx context.Context, t table.Tenant) (Report, error) {
	var rep Report
	dir := t.UsersByEmail("")
	q := store.Query{Index: table.GSI2, Partition: dir.PK, SKPrefix: dir.SK, Limit: PageSize}
	old := identity.UnkeyedAccessEntries()
	for {
		page, err := s.Store.QueryPage(ctx, q)
		if err != nil {
			return rep, fmt.Errorf("read users: %w", err)
		}
		var users []identity.User
		if err := page.Decode(&users); err != nil {
			return rep, apperr.Internal("decode users", err)
		}
		for _, u := range users {
			hq := store.Query{Partition: t.User(u.ID).PK, SKPrefix: table.AccessHistoryPrefix, Limit: PageSize, Filter: &old}
			for {
				hp, err := s.Store.QueryPage(ctx, hq)
				if err != nil {
					return rep, fmt.Errorf("read access history of %s: %w", u.ID, err)
				}
				var entries []identity.AccessEntry
				if err := hp.Decode(&entries); err != nil {
					return rep, apperr.Internal("decode access entries", err)
				}
				for _, e := range entries {
					rep.Read++
					if e.AccountID == "" {
						continue
					}
					err := s.Store.Do(ctx, "give access entry "+e.SK+" its account key", e.GiveAccountKey(t))
					if err != nil && apperr.KindOf(err) == apperr.KindInternal {
						return rep, err
					}
					if err == nil {
						rep.Repaired++
					}
				}
				if hp.Cursor == "" {
					break
				}
				hq.Cursor = hp.Cursor
			}
		}
		if page.Cursor == "" {
			return rep, nil
		}
		q.Cursor = page.Cursor
	}
}

// Run runs every repair on tenant t, in order, and writes what each did to
// out: the one call of the operator's `backfill` command.
func (s *Service) Run(ctx context.Context, t table.Tenant, out io.Writer) error {
	for _, r := range []struct {
		name string
		run  func(context.Context, table.Tenant) (Report, error)
	}{{"phantom children", s.ChildCounts}, {"access history account keys", s.AccessHistory}} {
		rep, err := r.run(ctx, t)
		fmt.Fprintf(out, "%s: %s\n", r.name, rep)
		if err != nil {
			return fmt.Errorf("backfill %s of tenant %s: %w", r.name, t.ID(), err)
		}
	}
	return nil
}
