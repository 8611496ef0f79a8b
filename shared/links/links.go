// Package links keeps linked accounts: a parent account and its children,
// the view an admin gets by clicking the link icon.
//
// Depth rule: one level, like the reference product. An account is unlinked,
// a parent (it has children) or a child (it has a parent), never both: a
// child cannot have children and a parent cannot become a child. So a child
// has exactly one parent and there can be no cycle.
//
// The rules are conditions of the one transaction that links, never a
// read-then-write: the child's account item must have no parent and no
// children, the parent's must have no parent and fewer than MaxChildren
// children (its childCount), and the link item (table.AccountLink) must not
// exist; both accounts' versions move, and both change logs get their entry
// in the same transaction. Two admins linking A→B and B→A at the same moment
// touch the same two items with opposite conditions: exactly one commits.
// The service reads both accounts first only to answer with the precise
// rule that a request breaks.
//
// Closing a parent (the administration work) unlinks its children and keeps
// them: DetachChildren, each unlink recorded in both change logs.
package links

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// MaxChildren bounds a parent's children, so a family reads in one batch.
const MaxChildren = 50

// MaxNameRunes bounds a new account's name.
const MaxNameRunes = 200

// Service links, unlinks and shows families.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Access access.Checker
}

// New builds the service.
func New(d service.Deps) *Service {
	return &Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Access: access.Checker{Store: d.Store}}
}

// Errors of this package.
var (
	ErrSelfLink = apperr.Validation(apperr.FieldError{Field: "childId", Code: "self_link",
		Detail: "an account cannot be linked to itself"})
	ErrHasParent = apperr.New(apperr.KindConflict, "already_has_parent",
		"this account is already linked to a parent; unlink it first (a child has one parent)")
	ErrChildIsParent = apperr.New(apperr.KindConflict, "child_has_children",
		"an account with linked children cannot become a child (linking is one level deep)")
	ErrParentIsChild = apperr.New(apperr.KindConflict, "parent_is_a_child",
		"a linked child cannot have children of its own (linking is one level deep)")
	ErrTooManyChildren = apperr.New(apperr.KindConflict, "too_many_children",
		fmt.Sprintf("a parent has at most %d linked children", MaxChildren))
	ErrAccountClosed = apperr.New(apperr.KindConflict, "account_closed", "a closed account cannot be linked")
	ErrNotLinked     = apperr.New(apperr.KindNotFound, "not_linked", "this account is not a child of that account")
	ErrChanged       = apperr.New(apperr.KindConflict, "link_conflict",
		"the accounts changed while this ran; reload and try again")
	// errRace is a failed condition, diagnosed by reading the accounts again.
	errRace = errors.New("link condition failed")
)

// Link is one parent-child link item.
type Link struct {
	PK       string    `dynamodbav:"PK"`
	SK       string    `dynamodbav:"SK"`
	Type     string    `dynamodbav:"type"`
	ParentID string    `dynamodbav:"parentId"`
	ChildID  string    `dynamodbav:"childId"`
	LinkedAt time.Time `dynamodbav:"linkedAt"`
	LinkedBy string    `dynamodbav:"linkedBy"`
}

// Conditions, as sentences.

func active() expression.ConditionBuilder {
	return store.Exists().And(accounts.IsActive())
}

func noParent() expression.ConditionBuilder { return accounts.NoParent() }

func noChildren() expression.ConditionBuilder { return accounts.NoChildren() }

func roomForAChild() expression.ConditionBuilder { return accounts.FewerChildrenThan(MaxChildren) }

// linkWrites are the items of the transaction that makes child a child of
// parent (the child's item is written by the caller: an update when it
// exists, a put when it is new).
func (s *Service) linkWrites(t table.Tenant, parentID, childID string, actor changelog.Actor, now time.Time, childAction string, childAfter map[string]any) []*store.Write {
	lk := t.AccountLink(parentID, childID)
	return []*store.Write{
		store.Update(t.Account(parentID), accounts.WithChildren(accounts.Edited(now), 1)).
			If(active().And(noParent()).And(roomForAChild())).OrFail(errRace),
		store.Put(Link{PK: lk.PK, SK: lk.SK, Type: "ACCOUNT_LINK", ParentID: parentID, ChildID: childID, LinkedAt: now, LinkedBy: actor.ID}).
			If(store.NotExists()).OrFail(errRace),
		changelog.New(t, s.IDs.NewID(), now, parentID, actor, "account.child_linked", "account", childID,
			nil, map[string]any{"childId": childID}).Write(),
		changelog.New(t, s.IDs.NewID(), now, childID, actor, childAction, "account", childID,
			map[string]any{"parentId": nil}, childAfter).Write(),
	}
}

// LinkExisting makes childID a child of parentID. The caller needs
// links.manage in both accounts: tenant administration, so an operator.
func (s *Service) LinkExisting(ctx context.Context, caller access.Caller, parentID, childID string) (Linked, error) {
	t := caller.Tenant
	if parentID == childID {
		return Linked{}, ErrSelfLink
	}
	// One read for both permission checks and both accounts.
	items, err := s.Access.RequireEach(ctx, caller, access.ManageLinks, parentID, childID)
	if err != nil {
		return Linked{}, err
	}
	parent, child, err := decodePair(items, parentID, childID)
	if err != nil {
		return Linked{}, err
	}
	if err := linkable(parent, child); err != nil {
		return Linked{}, err
	}
	now := s.Clock.Now()
	actor := changelog.ActorOf(caller)
	writes := append([]*store.Write{
		store.Update(t.Account(childID), accounts.WithParent(accounts.Edited(now), parentID)).
			If(active().And(noParent()).And(noChildren())).OrFail(errRace),
	}, s.linkWrites(t, parentID, childID, actor, now, "account.linked", map[string]any{"parentId": parentID})...)
	err = s.Store.Transact(ctx, fmt.Sprintf("link account %s to parent %s", childID, parentID), writes...)
	if errors.Is(err, errRace) {
		return Linked{}, s.diagnose(ctx, t, parentID, childID)
	}
	if err != nil {
		return Linked{}, err
	}
	fam, err := s.familyOf(ctx, t, Family{AccountID: parentID, Role: RoleParent, Children: []AccountSummary{}}, parentID)
	if err != nil {
		return Linked{}, err
	}
	out := Linked{Child: summaryOf(child), Family: fam}
	out.Child.ParentID = parentID
	for _, c := range fam.Children {
		if c.ID == childID {
			out.Child = c
		}
	}
	return out, nil
}

// CreateChildCommand creates a new account directly as a linked child.
type CreateChildCommand struct {
	Caller   access.Caller
	ParentID string
	Name     string
}

// ValidName trims and checks a new account's name.
func ValidName(raw string) (string, error) {
	name := strings.TrimSpace(raw)
	ok := name != "" && utf8.RuneCountInString(name) <= MaxNameRunes &&
		strings.IndexFunc(name, unicode.IsControl) < 0
	if !ok {
		return "", apperr.Validation(apperr.FieldError{Field: "name", Code: "invalid_name",
			Detail: fmt.Sprintf("the name is 1 to %d characters, without control characters", MaxNameRunes)})
	}
	return name, nil
}

// CreateChild creates an account as a child of the parent, in one
// transaction with the link and both change-log entries. Linking is tenant
// administration (links.manage: operators only), so the new account starts
// without members: the operator invites its first Admin, whose consent the
// invitation is. The new account counts against the tenant's
// accounts-per-hour cap in the same transaction (429 tenant_hourly_cap).
func (s *Service) CreateChild(ctx context.Context, cmd CreateChildCommand) (Linked, error) {
	t := cmd.Caller.Tenant
	name, err := ValidName(cmd.Name)
	if err != nil {
		return Linked{}, err
	}
	if err := s.Access.Require(ctx, cmd.Caller, access.ManageLinks, cmd.ParentID); err != nil {
		return Linked{}, err
	}
	var parent accounts.Account
	ok, err := s.Store.Get(ctx, t.Account(cmd.ParentID), &parent)
	if err != nil {
		return Linked{}, err
	}
	if !ok {
		return Linked{}, apperr.ErrNotFound.Withf("no account %s", cmd.ParentID)
	}
	if err := canTakeAChild(parent); err != nil {
		return Linked{}, err
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return Linked{}, err
	}
	now := s.Clock.Now()
	actor := changelog.ActorOf(cmd.Caller)
	child := accounts.NewAccount(t, accounts.Account{ID: s.IDs.NewID(), Name: name, ParentID: cmd.ParentID, CreatedAt: now, UpdatedAt: now})
	writes := append([]*store.Write{store.Put(child).If(store.NotExists()), caps.Accounts.Reserve(t, settings, 1, now)},
		s.linkWrites(t, cmd.ParentID, child.ID, actor, now, "account.created", map[string]any{"name": name, "parentId": cmd.ParentID})...)
	err = s.Store.Transact(ctx, fmt.Sprintf("create child account of %s", cmd.ParentID), writes...)
	if errors.Is(err, errRace) {
		var again accounts.Account
		if ok, rerr := s.Store.Get(ctx, t.Account(cmd.ParentID), &again); rerr == nil && ok {
			if err := canTakeAChild(again); err != nil {
				return Linked{}, err
			}
		}
		return Linked{}, ErrChanged
	}
	if err != nil {
		return Linked{}, err
	}
	fam, err := s.family(ctx, t, cmd.ParentID)
	if err != nil {
		return Linked{}, err
	}
	return Linked{Child: summaryOf(child), Family: fam}, nil
}

// Linked is a child just linked (or created) and its family.
type Linked struct {
	Child  AccountSummary `json:"child"`
	Family Family         `json:"family"`
}

// Unlink detaches childID from parentID; both accounts stay. The caller
// needs links.manage in both accounts.
func (s *Service) Unlink(ctx context.Context, caller access.Caller, parentID, childID string) error {
	t := caller.Tenant
	if _, err := s.Access.RequireEach(ctx, caller, access.ManageLinks, parentID, childID); err != nil {
		return err
	}
	err := s.unlink(ctx, t, parentID, childID, changelog.ActorOf(caller), "", accounts.OpenEach(t, parentID, childID)...)
	if err != nil {
		// The checks fold into the updates of both accounts, which report
		// not_linked: a close meanwhile is told apart here.
		if err = accounts.ClosedMeanwhile(ctx, s.Store, t, parentID, err); !errors.Is(err, accounts.ErrClosed) {
			err = accounts.ClosedMeanwhile(ctx, s.Store, t, childID, err)
		}
	}
	return err
}

// unlink detaches childID from parentID, with open checks when the
// accounts must be open (not when a closing parent lets its children go).
func (s *Service) unlink(ctx context.Context, t table.Tenant, parentID, childID string, actor changelog.Actor, reason string, open ...*store.Write) error {
	now := s.Clock.Now()
	after := map[string]any{"parentId": nil}
	if reason != "" {
		after["reason"] = reason
	}
	writes := []*store.Write{
		store.Update(t.Account(childID), accounts.WithParent(accounts.Edited(now), "")).
			If(accounts.HasParent(parentID)).OrFail(ErrNotLinked),
		store.Update(t.Account(parentID), accounts.WithChildren(accounts.Edited(now), -1)).
			If(store.Exists()).OrFail(ErrNotLinked),
		store.Delete(t.AccountLink(parentID, childID)).If(store.Exists()).OrFail(ErrNotLinked),
		changelog.New(t, s.IDs.NewID(), now, parentID, actor, "account.child_unlinked", "account", childID,
			map[string]any{"childId": childID}, map[string]any{"childId": nil}).Write(),
		changelog.New(t, s.IDs.NewID(), now, childID, actor, "account.unlinked", "account", childID,
			map[string]any{"parentId": parentID}, after).Write(),
	}
	return s.Store.Transact(ctx, fmt.Sprintf("unlink account %s from %s", childID, parentID), append(writes, open...)...)
}

// ChildWipedWrites are the writes that take a wiped child out of its
// parent's family, for the transaction of the administration work that
// deletes the child's account item (which must be conditioned on the
// child still being parentID's child): the link item's delete and the
// parent's childCount back by one, each conditioned on the link (so a
// retry or a concurrent unlink cannot count it twice), and the
// account.child_unlinked entry in the parent's change log, with reason
// "child account wiped". The child's own change log is wiped with it.
func ChildWipedWrites(t table.Tenant, entryID string, parentID, childID string, actor changelog.Actor, now time.Time, failed error) []*store.Write {
	return []*store.Write{
		store.Delete(t.AccountLink(parentID, childID)).If(store.Exists()).OrFail(failed),
		store.Update(t.Account(parentID), accounts.WithChildren(accounts.Edited(now), -1)).
			If(store.Exists().And(accounts.HasChildren())).OrFail(failed),
		changelog.New(t, entryID, now, parentID, actor, "account.child_unlinked", "account", childID,
			map[string]any{"childId": childID}, map[string]any{"childId": nil, "reason": "child account wiped"}).Write(),
	}
}

// DetachChildren unlinks every child of a parent that is being closed; the
// children are kept, each unlink recorded in both change logs with reason.
// For the administration work's "close an account"; it checks no
// permission (the caller of close did). It reports how many it unlinked.
func (s *Service) DetachChildren(ctx context.Context, t table.Tenant, parentID string, actor changelog.Actor, reason string) (int, error) {
	items, err := s.Store.QueryAll(ctx, store.Query{Partition: t.Account(parentID).PK, SKPrefix: table.ChildPrefix}, 0)
	if err != nil {
		return 0, err
	}
	var links []Link
	if err := attributevalue.UnmarshalListOfMaps(items, &links); err != nil {
		return 0, apperr.Internal("decode links", err)
	}
	n := 0
	for _, l := range links {
		err := s.unlink(ctx, t, parentID, l.ChildID, actor, reason)
		if errors.Is(err, ErrNotLinked) {
			continue // unlinked meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// readPair reads the two accounts of a link (404 for a missing one).
func (s *Service) readPair(ctx context.Context, t table.Tenant, parentID, childID string) (parent, child accounts.Account, err error) {
	got, err := s.Store.GetMany(ctx, []table.Key{t.Account(parentID), t.Account(childID)})
	if err != nil {
		return parent, child, err
	}
	return decodePair(map[string]map[string]types.AttributeValue{parentID: got[t.Account(parentID)], childID: got[t.Account(childID)]}, parentID, childID)
}

// decodePair decodes the two accounts of a link from items by account id
// (404 for a missing one).
func decodePair(items map[string]map[string]types.AttributeValue, parentID, childID string) (parent, child accounts.Account, err error) {
	for _, x := range []struct {
		id  string
		out *accounts.Account
	}{{parentID, &parent}, {childID, &child}} {
		it := items[x.id]
		if it == nil {
			return parent, child, apperr.ErrNotFound.Withf("no account %s", x.id)
		}
		if err := attributevalue.UnmarshalMap(it, x.out); err != nil {
			return parent, child, apperr.Internal("decode account", err)
		}
	}
	return parent, child, nil
}

// linkable says which rule linking child under parent would break.
func linkable(parent, child accounts.Account) error {
	if child.Status != accounts.StatusActive {
		return ErrAccountClosed.Withf("account %s is closed", child.ID)
	}
	switch {
	case child.ParentID == parent.ID:
		return ErrHasParent.Withf("account %s is already a child of %s", child.ID, parent.ID)
	case child.ParentID != "":
		return ErrHasParent
	case child.ChildCount > 0:
		return ErrChildIsParent
	}
	return canTakeAChild(parent)
}

// canTakeAChild says why parent cannot take one more child.
func canTakeAChild(parent accounts.Account) error {
	switch {
	case parent.Status != accounts.StatusActive:
		return ErrAccountClosed.Withf("account %s is closed", parent.ID)
	case parent.ParentID != "":
		return ErrParentIsChild
	case parent.ChildCount >= MaxChildren:
		return ErrTooManyChildren
	}
	return nil
}

// diagnose explains a link transaction whose conditions failed: the rule the
// accounts now break, or a plain conflict.
func (s *Service) diagnose(ctx context.Context, t table.Tenant, parentID, childID string) error {
	parent, child, err := s.readPair(ctx, t, parentID, childID)
	if err != nil {
		return err
	}
	if err := linkable(parent, child); err != nil {
		return err
	}
	return ErrChanged
}
