package directory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Change is one change-log entry as the API shows it.
type Change struct {
	ID          string          `json:"id"`
	At          time.Time       `json:"at"`
	AccountID   string          `json:"accountId"`
	Actor       changelog.Actor `json:"actor"`
	Action      string          `json:"action"`
	SubjectType string          `json:"subjectType"`
	SubjectID   string          `json:"subjectId"`
	Before      map[string]any  `json:"before,omitempty"`
	After       map[string]any  `json:"after,omitempty"`
	// ActorFromProfile says that the entry did not record its actor's name
	// and email (it was written before entries did) and that actor.name and
	// actor.email are the person's profile now; the id is the record.
	ActorFromProfile bool `json:"actorFromProfile,omitempty"`
}

// ChangePage is one page of a change log, newest first.
type ChangePage struct {
	Changes    []Change `json:"changes"`
	NextCursor string   `json:"nextCursor,omitempty"`
}

// AccountChanges reads an account's change log, newest first (one Query on
// the account's partition, descending: entry ids are time ordered).
func (d *Directory) AccountChanges(ctx context.Context, caller access.Caller, accountID string, limit int32, cursor string) (ChangePage, error) {
	if !ids.Valid(accountID) {
		return ChangePage{}, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	if err := d.Access.Require(ctx, caller, access.ReadAudit, accountID); err != nil {
		return ChangePage{}, err
	}
	q := store.Query{Partition: caller.Tenant.AccountPartition(accountID), SKPrefix: table.ChangeLogPrefix, Newest: true}
	return d.changes(ctx, caller.Tenant, q, limit, cursor)
}

// UserChanges reads the changes whose subject is a user, across accounts,
// newest first (GSI1, table.UserChangeLog). A caller who reaches the user
// only through the account their session is in reads only that account's
// entries (a filter on the same Query: a page may come back short, with a
// cursor).
func (d *Directory) UserChanges(ctx context.Context, caller access.Caller, userID string, limit int32, cursor string) (ChangePage, error) {
	r, err := d.requireAudit(ctx, caller, userID)
	if err != nil {
		return ChangePage{}, err
	}
	ix := caller.Tenant.UserChangeLog(userID, "")
	return d.changes(ctx, caller.Tenant, only(r, store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK, Newest: true}), limit, cursor)
}

// only narrows q to the items of r's account when r is not whole.
func only(r access.Reach, q store.Query) store.Query {
	if !r.Whole {
		f := changelog.InAccount(r.AccountID)
		q.Filter = &f
	}
	return q
}

func (d *Directory) changes(ctx context.Context, t table.Tenant, q store.Query, limit int32, cursor string) (ChangePage, error) {
	items, next, err := readSegments(ctx, d.Store, []store.Query{q}, limit, cursor)
	if err != nil {
		return ChangePage{}, fmt.Errorf("read change log: %w", err)
	}
	entries, err := decodeAll[changelog.Entry](items)
	if err != nil {
		return ChangePage{}, err
	}
	profiles, err := d.unnamedActors(ctx, t, entries)
	if err != nil {
		return ChangePage{}, fmt.Errorf("read change log: %w", err)
	}
	out := ChangePage{Changes: make([]Change, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		c := Change{ID: e.ID, At: e.At, AccountID: e.AccountID, Actor: e.Actor, Action: e.Action,
			SubjectType: e.SubjectType, SubjectID: e.SubjectID, Before: e.Before, After: e.After}
		if p, ok := profiles[e.Actor.ID]; ok && unnamed(e.Actor) {
			c.Actor.Name, c.Actor.Email, c.ActorFromProfile = p.name, p.email, true
		}
		out.Changes = append(out.Changes, c)
	}
	return out, nil
}

// unnamed reports an actor who is a person (user, support, operator) but
// whose entry did not record their name and email.
func unnamed(a changelog.Actor) bool {
	return a.Kind != changelog.ActorSystem && a.ID != "" && a.Name == "" && a.Email == ""
}

// unnamedActors reads, for the entries that did not name their actor, the
// name and email of each such person now (one BatchGetItem; none when
// every entry names its actor). Only name and email are taken from the
// profile: an account's readers learn who acted there (a support person
// included, whose profile they cannot otherwise read), nothing more.
func (d *Directory) unnamedActors(ctx context.Context, t table.Tenant, entries []changelog.Entry) (map[string]person, error) {
	var ids []string
	for _, e := range entries {
		if unnamed(e.Actor) && !slices.Contains(ids, e.Actor.ID) {
			ids = append(ids, e.Actor.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	keys := make([]table.Key, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, t.User(id))
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]person, len(ids))
	for _, id := range ids {
		if it, ok := got[t.User(id)]; ok {
			var u identity.User
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return nil, apperr.Internal("decode user", err)
			}
			out[id] = person{found: true, name: u.Name(), email: u.Email}
		}
	}
	return out, nil
}

// Access is one sign-in or account switch as the API shows it.
type Access struct {
	ID        string    `json:"id"`
	Event     string    `json:"event"`
	AccountID string    `json:"accountId"`
	At        time.Time `json:"at"`
	IP        string    `json:"ip,omitempty"`
	UserAgent string    `json:"userAgent,omitempty"`
	ActorID   string    `json:"actorId,omitempty"` // the support person who acted via "switch account"
	Reason    string    `json:"reason,omitempty"`
	Method    string    `json:"method,omitempty"` // how a sign-in was proven: password, totp, sms, recovery
}

// AccessPage is one page of an access history, newest first.
type AccessPage struct {
	Entries    []Access `json:"entries"`
	NextCursor string   `json:"nextCursor,omitempty"`
}

// AccessHistory reads a user's sign-ins and account switches, newest first
// (one Query on the user's partition, descending), as far as caller
// reaches the user (see UserChanges), each entry's IP address and user
// agent only to those the package comment names.
func (d *Directory) AccessHistory(ctx context.Context, caller access.Caller, userID string, limit int32, cursor string) (AccessPage, error) {
	r, err := d.requireAudit(ctx, caller, userID)
	if err != nil {
		return AccessPage{}, err
	}
	q := only(r, store.Query{Partition: caller.Tenant.User(userID).PK, SKPrefix: table.AccessHistoryPrefix, Newest: true})
	items, next, err := readSegments(ctx, d.Store, []store.Query{q}, limit, cursor)
	if err != nil {
		return AccessPage{}, fmt.Errorf("read access history: %w", err)
	}
	entries, err := decodeAll[identity.AccessEntry](items)
	if err != nil {
		return AccessPage{}, err
	}
	client, err := d.clientShown(ctx, caller, r, entries)
	if err != nil {
		return AccessPage{}, err
	}
	out := AccessPage{Entries: make([]Access, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		a := Access{ID: e.ID, Event: e.Event, AccountID: e.AccountID, At: e.At, ActorID: e.ActorID, Reason: e.Reason}
		if client(e.AccountID) {
			a.IP, a.UserAgent = e.IP, e.UserAgent
		}
		out.Entries = append(out.Entries, a)
	}
	return out, nil
}

// clientShown decides, for the access entries of a user in accounts,
// whose IP address and user agent caller sees: all of them for the user
// themselves, operators and the Admins of the user's home account; an
// entry about another account to its Admins. It reads the accounts and
// caller's memberships of them in one BatchGetItem, and decides Admin as
// access.AuthorityOf does (a closed account has no Admins).
func (d *Directory) clientShown(ctx context.Context, caller access.Caller, r access.Reach, entries []identity.AccessEntry) (func(accountID string) bool, error) {
	if r.Self || caller.Operator {
		return func(string) bool { return true }, nil
	}
	var ids []string
	if r.Whole && r.Home != "" {
		ids = append(ids, r.Home)
	}
	for _, e := range entries {
		if e.AccountID != "" && !slices.Contains(ids, e.AccountID) {
			ids = append(ids, e.AccountID)
		}
	}
	admin, err := d.adminIn(ctx, caller, ids)
	if err != nil {
		return nil, fmt.Errorf("read access history: %w", err)
	}
	if r.Whole && admin[r.Home] {
		return func(string) bool { return true }, nil
	}
	return func(accountID string) bool { return admin[accountID] }, nil
}

// adminIn answers, for each of accountIDs, whether caller holds Admin
// there (access.Authority.Admin).
func (d *Directory) adminIn(ctx context.Context, caller access.Caller, accountIDs []string) (map[string]bool, error) {
	t := caller.Tenant
	keys := make([]table.Key, 0, 2*len(accountIDs))
	for _, id := range accountIDs {
		keys = append(keys, t.Account(id), t.Membership(id, caller.UserID))
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, err
	}
	return adminsFrom(caller, accountIDs, got)
}

// adminsFrom is adminIn's decision from the items it read: each account
// and caller's membership of it (absent items: not there).
func adminsFrom(caller access.Caller, accountIDs []string, got map[table.Key]map[string]types.AttributeValue) (map[string]bool, error) {
	t := caller.Tenant
	out := make(map[string]bool, len(accountIDs))
	for _, id := range accountIDs {
		acc, open := got[t.Account(id)]
		var a accounts.Account
		if open {
			if err := attributevalue.UnmarshalMap(acc, &a); err != nil {
				return nil, apperr.Internal("decode account", err)
			}
			open = a.Status != accounts.StatusClosed
		}
		it, member := got[t.Membership(id, caller.UserID)]
		var m accounts.Membership
		if member {
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, apperr.Internal("decode membership", err)
			}
		}
		support := caller.Operator && caller.SupportReason != "" && caller.AccountID == id
		out[id] = open && access.AuthorityOf(id, member, m.Roles, nil, caller.Operator, support).Admin
	}
	return out, nil
}

// requireAudit: a user reads their own history; others need audit.read over
// the user (see access.RequireOverUser), and read as far as they reach. A
// deleted user's history stays readable.
func (d *Directory) requireAudit(ctx context.Context, caller access.Caller, userID string) (access.Reach, error) {
	if !ids.Valid(userID) {
		return access.Reach{}, apperr.ErrNotFound.Withf("no user %q", userID)
	}
	if userID == caller.UserID {
		return access.Reach{Whole: true, Self: true}, nil
	}
	var u identity.User
	ok, err := d.Store.Get(ctx, caller.Tenant.User(userID), &u)
	if err != nil {
		return access.Reach{}, err
	}
	if !ok {
		return access.Reach{}, apperr.ErrNotFound.Withf("no user %s", userID)
	}
	return access.ReachOverUser(ctx, d.Store, d.Access, caller, access.ReadAudit, u)
}
