package directory_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/links"
)

// Every row (list, search, CSV, GET /accounts/{id}) is marked with its
// family: a parent with its childCount, a child with its parent, none.
func TestRowsCarryTheirFamily(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	ctx := context.Background()
	parent := w.env.AddAccount(t, w.ten, "Fam Parent")
	child := w.env.AddAccount(t, w.ten, "Fam Child")
	loner := w.env.AddAccount(t, w.ten, "Fam Loner")
	if _, err := links.New(w.env.Service()).LinkExisting(ctx, op, parent, child); err != nil {
		t.Fatal(err)
	}
	want := map[string]directory.FamilyMark{
		parent: {Role: "parent", ChildCount: 1},
		child:  {Role: "child", ParentID: parent},
		loner:  {Role: "none"},
	}
	for _, q := range []directory.AccountQuery{
		{Caller: op, Limit: 50},
		{Caller: op, Name: "fam", Limit: 50},
		{Caller: op, Sort: directory.SortCreated, Limit: 50},
		{Caller: op, Family: child, Limit: 50},
	} {
		page, err := w.dir.Accounts(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, r := range page.Accounts {
			if f, ok := want[r.ID]; ok {
				seen++
				if r.Family != f {
					t.Errorf("%+v: %s has family %+v, want %+v", q, r.Name, r.Family, f)
				}
			} else if r.Family.Role != "none" {
				t.Errorf("%+v: unlinked %s has family %+v", q, r.Name, r.Family)
			}
		}
		if q.Family == "" && seen != 3 || q.Family != "" && seen != 2 {
			t.Errorf("%+v: %d of the accounts listed", q, seen)
		}
		sheet := directory.AccountsCSV(page.Accounts, time.UTC).String()
		if !strings.Contains(sheet, ",family_role,child_count") || !strings.Contains(sheet, ",parent,1") || !strings.Contains(sheet, parent+",") {
			t.Errorf("the CSV does not mark the family:\n%s", sheet)
		}
	}
	for id, f := range want {
		v, err := w.dir.Account(ctx, op, id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Family != f {
			t.Errorf("GET %s: family %+v, want %+v", v.Name, v.Family, f)
		}
	}
}

// ?family= pages one family (the parent and all its children, whichever
// of them is asked about) in the list's paging and sort: no duplicates, no
// gaps, nothing of another family.
func TestFamilyFilterPagesAFamily(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	ctx := context.Background()
	lk := links.New(w.env.Service())
	parent := w.env.AddAccount(t, w.ten, "Big Family")
	other := w.env.AddAccount(t, w.ten, "Other Family")
	if _, err := lk.LinkExisting(ctx, op, other, w.env.AddAccount(t, w.ten, "Other Kid")); err != nil {
		t.Fatal(err)
	}
	family := map[string]bool{parent: true}
	var children []string
	for i := range 30 {
		w.env.Clock.Advance(time.Second)
		id := w.env.AddAccount(t, w.ten, fmt.Sprintf("Kid %02d", (i*7)%30)) // created in another order than named
		if _, err := lk.LinkExisting(ctx, op, parent, id); err != nil {
			t.Fatal(err)
		}
		family[id] = true
		children = append(children, id)
	}
	for _, q := range []directory.AccountQuery{
		{Caller: op, Family: parent},
		{Caller: op, Family: children[11], Sort: directory.SortCreated, Desc: true},
		{Caller: op, Family: children[3], Sort: directory.SortStatus},
	} {
		q.Limit = 7
		seen := map[string]bool{}
		var order []directory.AccountRow
		for pages := 0; ; pages++ {
			page, err := w.dir.Accounts(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Accounts) > 7 || pages > 10 {
				t.Fatalf("page of %d (page %d)", len(page.Accounts), pages)
			}
			for _, r := range page.Accounts {
				if seen[r.ID] {
					t.Fatalf("%s listed twice", r.Name)
				}
				if !family[r.ID] {
					t.Fatalf("%s is not of the family", r.Name)
				}
				seen[r.ID] = true
				order = append(order, r)
			}
			if page.NextCursor == "" {
				break
			}
			q.Cursor = page.NextCursor
		}
		if len(seen) != 31 || !seen[parent] {
			t.Fatalf("family %s: %d listed (parent %v), want 31", q.Family, len(seen), seen[parent])
		}
		for i := 1; i < len(order); i++ {
			a, b := order[i-1], order[i]
			switch {
			case q.Sort == directory.SortCreated && a.CreatedAt.Before(b.CreatedAt),
				q.Sort != directory.SortCreated && strings.ToLower(a.Name) > strings.ToLower(b.Name):
				t.Fatalf("out of order: %s then %s", a.Name, b.Name)
			}
		}
	}
	// Filters keep working inside a family.
	page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Family: parent, Name: "kid 1", Limit: 50})
	if err != nil || len(page.Accounts) != 10 {
		t.Fatalf("name search in a family: %d, %v", len(page.Accounts), err)
	}

	// Anyone else sees only the accounts of the family they may read, and
	// only the family of an account of theirs.
	w.env.AddMembership(t, w.ten, children[5], w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	admin := w.admin()
	page, err = w.dir.Accounts(ctx, directory.AccountQuery{Caller: admin, Family: children[5], Limit: 50})
	if err != nil || len(page.Accounts) != 1 || page.Accounts[0].ID != children[5] {
		t.Fatalf("a member's family list: %+v, %v", page.Accounts, err)
	}
	_, err = w.dir.Accounts(ctx, directory.AccountQuery{Caller: admin, Family: parent, Limit: 50})
	if apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("the family of an account not theirs: %v", err)
	}
	_, err = w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Family: "01NOSUCHACCOUNT", Limit: 50})
	if apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("the family of no account: %v", err)
	}
}

func TestFamilyParameter(t *testing.T) {
	t.Parallel()
	c := access.Caller{}
	for _, bad := range []map[string]string{
		{"family": "a#b"},
		{"family": ""},
		{"family": "01ACCOUNT", "member": "ann"},
	} {
		if _, err := directory.ParseAccountQuery(c, bad, 50, 200); apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("%v: %v", bad, err)
		}
	}
	q, err := directory.ParseAccountQuery(c, map[string]string{"family": "01ACCOUNT", "q": "kid", "sort": "created"}, 50, 200)
	if err != nil || q.Family != "01ACCOUNT" {
		t.Fatalf("%+v %v", q, err)
	}
}
