package directory

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Sort orders of the account directory.
const (
	SortName    = "name"
	SortCreated = "created"
	SortStatus  = "status"
)

// AccountSorts lists them, as the list endpoint accepts them.
var AccountSorts = []string{SortName, SortCreated, SortStatus}

// Bounds of search input.
const (
	maxSearchLength = 100
	maxMemberAccts  = 200 // memberships read per matched user in a member-email search
)

// AccountQuery asks for one page of the account directory.
type AccountQuery struct {
	Caller access.Caller
	Sort   string // SortName (default), SortCreated or SortStatus
	Desc   bool
	Name   string // name prefix, lower-cased
	Member string // a member's email prefix, lower-cased
	Status string // "" (any), accounts.StatusActive or accounts.StatusClosed
	// Family, an account id, lists only that account's family: the parent
	// and all its children (for a child, its parent's family).
	Family string
	Limit  int32
	Cursor string
}

// ParseAccountQuery reads the list parameters: sort, order (asc, desc), q
// (name prefix), member (email prefix), status, family (an account id),
// limit, cursor. Every bad parameter is reported at once.
func ParseAccountQuery(caller access.Caller, params map[string]string, defLimit, maxLimit int32) (AccountQuery, error) {
	var f apperr.Fields
	q := AccountQuery{Caller: caller, Sort: SortName, Cursor: params["cursor"]}
	if s, ok := params["sort"]; ok {
		q.Sort = s
		f.Check(slices.Contains(AccountSorts, s), "sort", "invalid_sort", "sort is one of "+strings.Join(AccountSorts, ", "))
	}
	q.Desc = parseOrder(params, &f)
	q.Name = searchTerm(params, "q", &f)
	q.Member = searchTerm(params, "member", &f)
	if s, ok := params["status"]; ok {
		q.Status = s
		f.Check(s == accounts.StatusActive || s == accounts.StatusClosed, "status", "invalid_status", "status is active or closed")
	}
	if s, ok := params["family"]; ok {
		q.Family = s
		f.Check(ids.Valid(s), "family", "invalid_family", "family is an account id")
	}
	f.Check(q.Member == "" || q.Family == "", "family", "unsupported_combination",
		"a family lists one family's accounts; it cannot be combined with member")
	f.Check(q.Name == "" || q.Sort != SortCreated || q.Family != "", "sort", "unsupported_sort",
		"a name search lists in name order: use sort=name or sort=status with q")
	f.Check(q.Member == "" || q.Name == "" && q.Sort == SortName, "member", "unsupported_combination",
		"a member search lists accounts in the order of the matching members' emails; it cannot be combined with q or another sort")
	v, present := params["limit"]
	q.Limit = Limit(v, present, defLimit, maxLimit, &f)
	return q, f.Err()
}

func parseOrder(params map[string]string, f *apperr.Fields) bool {
	o, ok := params["order"]
	if !ok {
		return false
	}
	f.Check(o == "asc" || o == "desc", "order", "invalid_order", "order is asc or desc")
	return o == "desc"
}

func searchTerm(params map[string]string, name string, f *apperr.Fields) string {
	v := strings.ToLower(strings.TrimSpace(params[name]))
	f.Check(len(v) <= maxSearchLength, name, "too_long", fmt.Sprintf("%s has at most %d characters", name, maxSearchLength))
	f.Check(!strings.ContainsAny(v, "\x00\r\n"), name, "invalid", name+" may not contain control characters")
	return v
}

// Roles of an account in its family, as rows show them.
const (
	FamilyParent = "parent"
	FamilyChild  = "child"
	FamilyNone   = "none"
)

// FamilyMark is where an account stands among linked accounts: a parent
// (with childCount children), a child (of parentId) or none.
type FamilyMark struct {
	Role       string `json:"role"`
	ParentID   string `json:"parentId,omitempty"`
	ChildCount int64  `json:"childCount"`
}

// FamilyOf marks an account by its parentId and childCount.
func FamilyOf(parentID string, childCount int64) FamilyMark {
	switch {
	case parentID != "":
		return FamilyMark{Role: FamilyChild, ParentID: parentID}
	case childCount > 0:
		return FamilyMark{Role: FamilyParent, ChildCount: childCount}
	default:
		return FamilyMark{Role: FamilyNone}
	}
}

// AccountRow is an account as lists show it.
type AccountRow struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Status         string     `json:"status"`
	PlanID         string     `json:"planId,omitempty"`
	ParentID       string     `json:"parentId,omitempty"`
	CreatedAt      time.Time  `json:"createdAt"`
	ClosedAt       *time.Time `json:"closedAt,omitempty"`
	ChildCount     int64      `json:"-"`
	Family         FamilyMark `json:"family"`
	MatchedMembers []string   `json:"matchedMembers,omitempty"`
}

// decodeRow decodes an account item, or an entry of the register of
// closed accounts, as a row.
func decodeRow(item map[string]types.AttributeValue) (AccountRow, error) {
	a, err := accounts.Decoded(item)
	if err != nil {
		return AccountRow{}, apperr.Internal("decode account", err)
	}
	return rowOf(a), nil
}

// rowOf is account a as a row.
func rowOf(a accounts.Account) AccountRow {
	return AccountRow{ID: a.ID, Name: a.Name, Status: a.Status, PlanID: a.PlanID, ParentID: a.ParentID, CreatedAt: a.CreatedAt,
		ClosedAt: a.ClosedAt, ChildCount: a.ChildCount}
}

// AccountPage is one page of the directory.
type AccountPage struct {
	Accounts   []AccountRow `json:"accounts"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// Accounts lists accounts. Operators see the tenant's whole directory;
// everyone else sees the accounts they are a member of. Every row is
// marked with its family (FamilyOf). A closed account's row comes from the
// register of closed accounts, which keeps no childCount: closing a parent
// unlinks its children, so a closed account is a child or none.
func (d *Directory) Accounts(ctx context.Context, q AccountQuery) (AccountPage, error) {
	page, err := d.accounts(ctx, q)
	for i, r := range page.Accounts {
		page.Accounts[i].Family = FamilyOf(r.ParentID, r.ChildCount)
	}
	return page, err
}

func (d *Directory) accounts(ctx context.Context, q AccountQuery) (AccountPage, error) {
	if q.Family != "" {
		return d.family(ctx, q)
	}
	if !q.Caller.Operator {
		if q.Member != "" {
			return d.administeredByMember(ctx, q)
		}
		return d.myAccounts(ctx, q)
	}
	if q.Member != "" {
		return d.accountsByMember(ctx, q)
	}
	items, next, err := readSegments(ctx, d.Store, accountSegments(q), q.Limit, q.Cursor)
	if err != nil {
		return AccountPage{}, fmt.Errorf("list accounts: %w", err)
	}
	rows := make([]AccountRow, 0, len(items))
	for _, it := range items {
		r, err := decodeRow(it)
		if err != nil {
			return AccountPage{}, err
		}
		rows = append(rows, r)
	}
	return AccountPage{Accounts: rows, NextCursor: next}, nil
}

// accountSegments are the Queries that list the directory in q's order.
func accountSegments(q AccountQuery) []store.Query {
	t := q.Caller.Tenant
	byName := t.AccountsByName("", "")
	names := store.Query{Index: table.GSI2, Partition: byName.PK, SKPrefix: table.AccountsNamePrefix + q.Name, Newest: q.Desc}
	closed := store.Query{Partition: t.Settings().PK, SKPrefix: table.ClosedAccountPrefix + q.Name, Newest: q.Desc}
	byCreated := t.AccountsByCreated(time.Time{}, "")
	created := store.Query{Index: table.GSI1, Partition: byCreated.PK, SKPrefix: table.AccountsCreatedPrefix, Newest: q.Desc}

	active := names
	onlyActive := accounts.NotClosed()
	active.Filter = &onlyActive
	switch {
	case q.Status == accounts.StatusClosed:
		if q.Sort == SortCreated {
			onlyClosed := accounts.IsClosed()
			created.Filter = &onlyClosed
			return []store.Query{created}
		}
		return []store.Query{closed}
	case q.Status == accounts.StatusActive:
		if q.Sort == SortCreated {
			created.Filter = &onlyActive
			return []store.Query{created}
		}
		return []store.Query{active}
	case q.Sort == SortCreated:
		return []store.Query{created}
	case q.Sort == SortStatus && q.Desc:
		return []store.Query{closed, active}
	case q.Sort == SortStatus:
		return []store.Query{active, closed}
	default:
		return []store.Query{names}
	}
}

// myMemberships reads the caller's memberships (GSI1, one Query; a user
// belongs to few accounts, at most 1,000 are read).
func (d *Directory) myMemberships(ctx context.Context, c access.Caller) ([]accounts.Membership, error) {
	mine := c.Tenant.UserAccounts(c.UserID, "")
	items, err := d.Store.QueryAll(ctx, store.Query{Index: table.GSI1, Partition: mine.PK, SKPrefix: mine.SK}, 1000)
	if err != nil {
		return nil, err
	}
	return decodeAll[accounts.Membership](items)
}

// accountRows reads the accounts of keys (BatchGetItem, 100 at a time), in
// the order of keys; an account deleted meanwhile is left out.
func (d *Directory) accountRows(ctx context.Context, keys []table.Key) ([]AccountRow, error) {
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, err
	}
	rows := make([]AccountRow, 0, len(keys))
	for _, k := range keys {
		it, ok := got[k]
		if !ok {
			continue
		}
		r, err := decodeRow(it)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// myAccounts lists the caller's own accounts: few, so read whole (one
// Query on the caller's memberships, one BatchGetItem per 100 accounts),
// filtered and sorted in memory, and paged by offset.
func (d *Directory) myAccounts(ctx context.Context, q AccountQuery) (AccountPage, error) {
	t := q.Caller.Tenant
	ms, err := d.myMemberships(ctx, q.Caller)
	if err != nil {
		return AccountPage{}, fmt.Errorf("list my accounts: %w", err)
	}
	keys := make([]table.Key, 0, len(ms))
	for _, m := range ms {
		keys = append(keys, t.Account(m.AccountID))
	}
	all, err := d.accountRows(ctx, keys)
	if err != nil {
		return AccountPage{}, fmt.Errorf("list my accounts: %w", err)
	}
	var rows []AccountRow
	for _, r := range all {
		if strings.HasPrefix(strings.ToLower(r.Name), q.Name) && (q.Status == "" || r.Status == q.Status) {
			rows = append(rows, r)
		}
	}
	sortRows(rows, q.Sort, q.Desc)
	page, next, err := pageOf(rows, q.Limit, q.Cursor)
	if err != nil {
		return AccountPage{}, err
	}
	return AccountPage{Accounts: append([]AccountRow{}, page...), NextCursor: next}, nil
}

// family lists the family of q.Family (links.FamilyAccounts: at most
// 1 + links.MaxChildren accounts, one GetItem, one Query of the parent's
// links, one BatchGetItem), filtered by q's name prefix and status, sorted
// in memory as the directory sorts and paged by offset. Operators see any
// family; anyone else only the accounts of it they are a member of (one
// Query on their memberships, as their list), and only the family of an
// account they are a member of (404 otherwise, as for an unknown account).
func (d *Directory) family(ctx context.Context, q AccountQuery) (AccountPage, error) {
	t := q.Caller.Tenant
	var mine map[string]bool
	if !q.Caller.Operator {
		ms, err := d.myMemberships(ctx, q.Caller)
		if err != nil {
			return AccountPage{}, fmt.Errorf("list the family of %s: %w", q.Family, err)
		}
		mine = map[string]bool{}
		for _, m := range ms {
			mine[m.AccountID] = true
		}
		if !mine[q.Family] {
			return AccountPage{}, apperr.ErrNotFound.Withf("no account %s", q.Family)
		}
	}
	fam, err := links.FamilyAccounts(ctx, d.Store, t, q.Family)
	if err != nil {
		return AccountPage{}, fmt.Errorf("list the family of %s: %w", q.Family, err)
	}
	var rows []AccountRow
	for _, a := range fam {
		if mine != nil && !mine[a.ID] {
			continue
		}
		if strings.HasPrefix(strings.ToLower(a.Name), q.Name) && (q.Status == "" || a.Status == q.Status) {
			rows = append(rows, rowOf(a))
		}
	}
	sortRows(rows, q.Sort, q.Desc)
	page, next, err := pageOf(rows, q.Limit, q.Cursor)
	if err != nil {
		return AccountPage{}, err
	}
	return AccountPage{Accounts: append([]AccountRow{}, page...), NextCursor: next}, nil
}

// sortRows orders rows as the indexes would: by lower-cased name then id
// (the byte order of "name#id", so "beta two" comes before "beta"),
// by creation instant then id, or by status (active first) then name.
func sortRows(rows []AccountRow, sort string, desc bool) {
	key := func(r AccountRow) string {
		switch sort {
		case SortCreated:
			return table.SortableInstant(r.CreatedAt) + "#" + r.ID
		case SortStatus:
			return statusRank(r.Status) + strings.ToLower(r.Name) + "#" + r.ID
		default:
			return strings.ToLower(r.Name) + "#" + r.ID
		}
	}
	slices.SortStableFunc(rows, func(a, b AccountRow) int {
		c := strings.Compare(key(a), key(b))
		if desc {
			return -c
		}
		return c
	})
}

func statusRank(s string) string {
	if s == accounts.StatusClosed {
		return "1"
	}
	return "0"
}

// accountsByMember finds the accounts of the users whose email starts with
// q.Member: one page of the users directory (GSI2), each user's memberships
// (GSI1, in parallel), and the accounts (BatchGetItem). The page covers up
// to q.Limit matching users; the cursor continues in the users directory.
func (d *Directory) accountsByMember(ctx context.Context, q AccountQuery) (AccountPage, error) {
	t := q.Caller.Tenant
	users := t.UsersByEmail(q.Member)
	items, next, err := readSegments(ctx, d.Store, []store.Query{{Index: table.GSI2, Partition: users.PK, SKPrefix: users.SK, Newest: q.Desc}},
		q.Limit, q.Cursor)
	if err != nil {
		return AccountPage{}, fmt.Errorf("search accounts by member: %w", err)
	}
	us, err := decodeAll[identity.User](items)
	if err != nil {
		return AccountPage{}, err
	}
	memberships := make([][]accounts.Membership, len(us))
	errs := make([]error, len(us))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, u := range us {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			ix := t.UserAccounts(u.ID, "")
			its, err := d.Store.QueryAll(ctx, store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK}, maxMemberAccts)
			if err == nil {
				memberships[i], err = decodeAll[accounts.Membership](its)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	var order []string
	matched := map[string][]string{}
	for i, u := range us {
		if errs[i] != nil {
			return AccountPage{}, fmt.Errorf("search accounts by member: %w", errs[i])
		}
		for _, m := range memberships[i] {
			if _, seen := matched[m.AccountID]; !seen {
				order = append(order, m.AccountID)
			}
			matched[m.AccountID] = append(matched[m.AccountID], u.Email)
		}
	}
	keys := make([]table.Key, 0, len(order))
	for _, id := range order {
		keys = append(keys, t.Account(id))
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return AccountPage{}, fmt.Errorf("search accounts by member: %w", err)
	}
	rows := []AccountRow{}
	for _, id := range order {
		it, ok := got[t.Account(id)]
		if !ok {
			continue
		}
		r, err := decodeRow(it)
		if err != nil {
			return AccountPage{}, err
		}
		if q.Status == "" || r.Status == q.Status {
			r.MatchedMembers = matched[id]
			rows = append(rows, r)
		}
	}
	return AccountPage{Accounts: rows, NextCursor: next}, nil
}

// maxMatchesShown bounds the matching members' emails a row of a member
// search by a non-operator shows (and reads) per account.
const maxMatchesShown = 20

// administeredByMember is a member search for a caller who is not an
// operator: among the accounts whose users they may read (their own
// memberships, one Query, each checked for users.read), those with a member
// whose email starts with q.Member (one Query per such account on its
// members by email, GSI2, showing at most maxMatchesShown). An account the
// caller cannot administer is never read, so never revealed. The caller
// administers few accounts: the rows are sorted by name in memory and
// paged by offset.
func (d *Directory) administeredByMember(ctx context.Context, q AccountQuery) (AccountPage, error) {
	t := q.Caller.Tenant
	ms, err := d.myMemberships(ctx, q.Caller)
	if err != nil {
		return AccountPage{}, fmt.Errorf("search my accounts by member: %w", err)
	}
	onlyMembers := expression.Name("type").Equal(expression.Value(typeMembership))
	matched := map[string][]string{}
	var keys []table.Key
	for _, m := range ms {
		if err := d.Access.Require(ctx, q.Caller, access.ReadUsers, m.AccountID); err != nil {
			if k := apperr.KindOf(err); k == apperr.KindForbidden || k == apperr.KindNotFound || k == apperr.KindConflict {
				continue // not theirs to read (or closed): never shown
			}
			return AccountPage{}, fmt.Errorf("search my accounts by member: %w", err)
		}
		ix := t.AccountMembersByEmail(m.AccountID, q.Member, "")
		// The account's pending invitations share the index: the filter
		// skips them, and the read goes on until maxMatchesShown members.
		its, err := d.Store.QueryAll(ctx, store.Query{Index: table.GSI2, Partition: ix.PK, SKPrefix: table.MembersEmailPrefix + q.Member,
			Limit: maxMatchesShown, Filter: &onlyMembers}, maxMatchesShown)
		if err != nil {
			return AccountPage{}, fmt.Errorf("search account %s by member: %w", m.AccountID, err)
		}
		found, err := decodeAll[accounts.Membership](its[:min(len(its), maxMatchesShown)])
		if err != nil {
			return AccountPage{}, err
		}
		for _, f := range found {
			matched[m.AccountID] = append(matched[m.AccountID], f.Email)
		}
		if len(found) > 0 {
			keys = append(keys, t.Account(m.AccountID))
		}
	}
	all, err := d.accountRows(ctx, keys)
	if err != nil {
		return AccountPage{}, fmt.Errorf("search my accounts by member: %w", err)
	}
	rows := []AccountRow{}
	for _, r := range all {
		if q.Status == "" || r.Status == q.Status {
			r.MatchedMembers = matched[r.ID]
			rows = append(rows, r)
		}
	}
	sortRows(rows, SortName, q.Desc)
	page, next, err := pageOf(rows, q.Limit, q.Cursor)
	if err != nil {
		return AccountPage{}, err
	}
	return AccountPage{Accounts: append([]AccountRow{}, page...), NextCursor: next}, nil
}

// AccountsCSV renders rows as the account export. Instants are in zone, the
// reader's (ReaderZone), each with its UTC column beside it.
func AccountsCSV(rows []AccountRow, zone *time.Location) *csvexport.Sheet {
	sheet := csvexport.New(append([]string{"id", "name", "status", "plan", "parent"}, append(csvexport.InstantColumns("created_at", "closed_at"),
		"family_role", "child_count")...)...)
	for _, r := range rows {
		created := r.CreatedAt
		fam := r.Family
		if fam.Role == "" {
			fam = FamilyOf(r.ParentID, r.ChildCount)
		}
		cells := append([]string{r.ID, r.Name, r.Status, r.PlanID, r.ParentID}, csvexport.Instant(&created, zone)...)
		cells = append(cells, csvexport.Instant(r.ClosedAt, zone)...)
		sheet.Row(append(cells, fam.Role, strconv.FormatInt(fam.ChildCount, 10))...)
	}
	return sheet
}
