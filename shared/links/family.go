package links

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Roles of an account in its family.
const (
	RoleParent   = "parent"
	RoleChild    = "child"
	RoleUnlinked = "unlinked"
)

// AccountSummary is an account as a family shows it.
type AccountSummary struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Status     string `json:"status"`
	ParentID   string `json:"parentId,omitempty"`
	ChildCount int64  `json:"childCount"`
}

func summaryOf(a accounts.Account) AccountSummary {
	return AccountSummary{ID: a.ID, Name: a.Name, Status: a.Status, ParentID: a.ParentID, ChildCount: a.ChildCount}
}

// Family is GET /accounts/{accountId}/family: the parent of the account's
// family and all its children, whichever of them was asked about.
type Family struct {
	AccountID string           `json:"accountId"` // the account asked about
	Role      string           `json:"role"`      // parent, child or unlinked
	Parent    *AccountSummary  `json:"parent"`    // null when unlinked
	Children  []AccountSummary `json:"children"`  // by name
}

// Family shows the family of accountID to any member of it (or an
// operator): one read of the account, one Query of the parent's links and
// one BatchGetItem of the family's accounts.
func (s *Service) Family(ctx context.Context, caller access.Caller, accountID string) (Family, error) {
	if err := s.Access.Require(ctx, caller, access.ReadAccount, accountID); err != nil {
		return Family{}, err
	}
	return s.family(ctx, caller.Tenant, accountID)
}

func (s *Service) family(ctx context.Context, t table.Tenant, accountID string) (Family, error) {
	var acc accounts.Account
	ok, err := s.Store.Get(ctx, t.Account(accountID), &acc)
	if err != nil {
		return Family{}, err
	}
	if !ok {
		return Family{}, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	out := Family{AccountID: accountID, Role: RoleUnlinked, Children: []AccountSummary{}}
	rootID := accountID
	switch {
	case acc.ParentID != "":
		out.Role, rootID = RoleChild, acc.ParentID
	case acc.ChildCount > 0:
		out.Role = RoleParent
	default:
		return out, nil
	}
	return s.familyOf(ctx, t, out, rootID)
}

// familyOf fills out, the family of out.AccountID, from its root (the parent):
// one Query of the parent's links and one BatchGetItem of the accounts.
func (s *Service) familyOf(ctx context.Context, t table.Tenant, out Family, rootID string) (Family, error) {
	parent, children, err := readFamily(ctx, s.Store, t, rootID)
	if err != nil {
		return Family{}, err
	}
	if parent != nil {
		sum := summaryOf(*parent)
		out.Parent = &sum
	}
	for _, c := range children {
		out.Children = append(out.Children, summaryOf(c))
	}
	sort.Slice(out.Children, func(i, j int) bool {
		if out.Children[i].Name != out.Children[j].Name {
			return out.Children[i].Name < out.Children[j].Name
		}
		return out.Children[i].ID < out.Children[j].ID
	})
	return out, nil
}

// readFamily reads a parent and its children: one Query of the parent's
// links (table.AccountLink, at most MaxChildren) and one BatchGetItem of
// the accounts. An account deleted meanwhile is left out (a nil parent).
func readFamily(ctx context.Context, st *store.Store, t table.Tenant, rootID string) (*accounts.Account, []accounts.Account, error) {
	items, err := st.QueryAll(ctx, store.Query{Partition: t.Account(rootID).PK, SKPrefix: table.ChildPrefix}, MaxChildren)
	if err != nil {
		return nil, nil, err
	}
	var links []Link
	if err := attributevalue.UnmarshalListOfMaps(items, &links); err != nil {
		return nil, nil, apperr.Internal("decode links", err)
	}
	keys := []table.Key{t.Account(rootID)}
	for _, l := range links {
		keys = append(keys, t.Account(l.ChildID))
	}
	got, err := st.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	var parent *accounts.Account
	children := make([]accounts.Account, 0, len(links))
	for i, k := range keys {
		it, ok := got[k]
		if !ok {
			continue // deleted meanwhile
		}
		var a accounts.Account
		if err := attributevalue.UnmarshalMap(it, &a); err != nil {
			return nil, nil, apperr.Internal("decode account", err)
		}
		if i == 0 {
			parent = &a
			continue
		}
		children = append(children, a)
	}
	return parent, children, nil
}

// FamilyAccounts reads the whole family of accountID for the account
// directory's family filter: the parent first (accountID itself, or its
// parent when it is a child), then every child, in the order of the
// parent's links. An unlinked account is a family of one. It checks no
// permission (the directory does). A family is at most 1 + MaxChildren
// accounts: one GetItem, one Query of the parent's links, one BatchGetItem.
// No such account is 404.
func FamilyAccounts(ctx context.Context, st *store.Store, t table.Tenant, accountID string) ([]accounts.Account, error) {
	var acc accounts.Account
	ok, err := st.Get(ctx, t.Account(accountID), &acc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.ErrNotFound.Withf("no account %s", accountID)
	}
	rootID := accountID
	switch {
	case acc.ParentID != "":
		rootID = acc.ParentID
	case acc.ChildCount <= 0:
		return []accounts.Account{acc}, nil
	}
	parent, children, err := readFamily(ctx, st, t, rootID)
	if err != nil {
		return nil, err
	}
	var out []accounts.Account
	if parent != nil {
		out = append(out, *parent)
	}
	return append(out, children...), nil
}
