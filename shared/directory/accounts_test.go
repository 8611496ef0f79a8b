package directory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
)

// directoryWorld: the tenant's bootstrap account plus named accounts
// created a minute apart in a different order than their names, two of
// them closed.
func directoryWorld(t *testing.T) (*world, access.Caller, map[string]string) {
	t.Helper()
	w := newWorld(t)
	op := w.operator(t)
	ids := map[string]string{}
	var boot directory.AccountView
	boot, err := w.dir.Account(context.Background(), op, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	ids[boot.Name] = w.ten.AccountID
	for _, name := range []string{"Zeta", "acme Ltd", "Gamma", "Acme Corp", "beta two", "Beta", "delta", "Theta", "Epsilon", "eta"} {
		w.env.Clock.Advance(time.Minute)
		ids[name] = w.env.AddAccount(t, w.ten, name)
	}
	for _, name := range []string{"Beta", "Theta"} {
		if _, err := w.adm.CloseAccount(context.Background(), administration.CloseAccount{Caller: op, AccountID: ids[name], ConfirmName: name}); err != nil {
			t.Fatal(err)
		}
	}
	return w, op, ids
}

// all pages through q with a small page size and returns the names in order.
func all(t *testing.T, w *world, q directory.AccountQuery) []string {
	t.Helper()
	var names []string
	q.Limit = 3
	for i := 0; ; i++ {
		page, err := w.dir.Accounts(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Accounts {
			names = append(names, a.Name)
		}
		if page.NextCursor == "" {
			return names
		}
		if i > 50 {
			t.Fatal("the cursor does not advance")
		}
		q.Cursor = page.NextCursor
	}
}

func reversed(s []string) []string { r := slices.Clone(s); slices.Reverse(r); return r }

func TestDirectorySortsPagesAndSearches(t *testing.T) {
	t.Parallel()
	w, op, ids := directoryWorld(t)
	var names, created []string
	for n := range ids {
		names = append(names, n)
	}
	// The directory's name order is the index's: lower-cased name, then id.
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a)+"#", strings.ToLower(b)+"#") })
	boot := names[0]
	created = []string{boot, "Zeta", "acme Ltd", "Gamma", "Acme Corp", "beta two", "Beta", "delta", "Theta", "Epsilon", "eta"}
	closed := []string{"Beta", "Theta"}
	var active []string
	for _, n := range names {
		if !slices.Contains(closed, n) {
			active = append(active, n)
		}
	}

	cases := []struct {
		name string
		q    directory.AccountQuery
		want []string
	}{
		{"by name", directory.AccountQuery{Sort: directory.SortName}, names},
		{"by name, descending", directory.AccountQuery{Sort: directory.SortName, Desc: true}, reversed(names)},
		{"by creation", directory.AccountQuery{Sort: directory.SortCreated}, created},
		{"by creation, newest first", directory.AccountQuery{Sort: directory.SortCreated, Desc: true}, reversed(created)},
		{"by status: active then closed, each by name", directory.AccountQuery{Sort: directory.SortStatus}, append(slices.Clone(active), closed...)},
		{"by status, descending", directory.AccountQuery{Sort: directory.SortStatus, Desc: true}, append(reversed(closed), reversed(active)...)},
		{"name prefix, any case", directory.AccountQuery{Sort: directory.SortName, Name: "acme"}, []string{"Acme Corp", "acme Ltd"}},
		{"name prefix by status", directory.AccountQuery{Sort: directory.SortStatus, Name: "beta"}, []string{"beta two", "Beta"}},
		{"name prefix by status, descending", directory.AccountQuery{Sort: directory.SortStatus, Name: "beta", Desc: true}, []string{"Beta", "beta two"}},
		{"only closed", directory.AccountQuery{Sort: directory.SortName, Status: accounts.StatusClosed}, closed},
		{"only active, by creation", directory.AccountQuery{Sort: directory.SortCreated, Status: accounts.StatusActive},
			slices.DeleteFunc(slices.Clone(created), func(n string) bool { return slices.Contains(closed, n) })},
		{"nothing matches", directory.AccountQuery{Sort: directory.SortName, Name: "nope"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.q.Caller = op
			if got := all(t, w, tc.q); !slices.Equal(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A page of n reads n items, whatever the size of the directory: every
// list is a Query on an index ordered the way the page is.
func TestDirectoryPageReadsAboutItsOwnSize(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	const accountsInTenant = 400
	errs := make(chan error, accountsInTenant)
	sem := make(chan struct{}, 16)
	for i := range accountsInTenant {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			defer func() { errs <- nil }()
			w.env.AddAccount(t, w.ten, fmt.Sprintf("Customer %04d", i))
		}()
	}
	for range accountsInTenant {
		<-errs
	}
	for _, sort := range directory.AccountSorts {
		for _, desc := range []bool{false, true} {
			w.read.reset()
			page, err := w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: op, Sort: sort, Desc: desc, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Accounts) != 50 || page.NextCursor == "" {
				t.Fatalf("%s: %d accounts, cursor %q", sort, len(page.Accounts), page.NextCursor)
			}
			// Sorted by status, a page may span the closed accounts and the active ones: two Queries.
			if q, n := w.read.queries.Load(), w.read.scanned.Load(); q > 2 || n > 51 {
				t.Errorf("sort %s desc %v: %d queries read %d items for a page of 50 among %d accounts", sort, desc, q, n, accountsInTenant)
			}
		}
	}
	// A name search reads what it finds.
	w.read.reset()
	page, err := w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: op, Sort: directory.SortName, Name: "customer 012", Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Accounts) != 10 || w.read.scanned.Load() > 10 {
		t.Errorf("search read %d items for %d matches", w.read.scanned.Load(), len(page.Accounts))
	}
}

func TestSearchByMemberEmail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	a1 := w.env.AddAccount(t, w.ten, "First")
	a2 := w.env.AddAccount(t, w.ten, "Second")
	a3 := w.env.AddAccount(t, w.ten, "Third")
	u := w.env.AddUser(t, w.ten, a1, "consultant@example.org", "")
	w.env.AddMembership(t, w.ten, a2, u.ID, u.Email, access.RoleViewer)
	w.env.AddUser(t, w.ten, a3, "someone@else.org", "")

	page, err := w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: op, Member: "consult", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range page.Accounts {
		got = append(got, a.Name)
		if !slices.Equal(a.MatchedMembers, []string{"consultant@example.org"}) {
			t.Errorf("%s matched %v", a.Name, a.MatchedMembers)
		}
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"First", "Second"}) {
		t.Errorf("accounts of consult*: %v", got)
	}
	// Members who are not operators search only the accounts whose users
	// they may read: the third account stays out of a viewer's search.
	viewer := callerOf(w.ten, u.ID, a1, access.RoleViewer)
	page, err = w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: viewer, Member: "consult", Limit: 10})
	if err != nil || len(page.Accounts) != 2 || page.Accounts[0].Name != "First" || page.Accounts[1].Name != "Second" {
		t.Errorf("member search by a non-operator: %+v %v", page, err)
	}
	page, err = w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: viewer, Member: "some", Limit: 10})
	if err != nil || len(page.Accounts) != 0 {
		t.Errorf("a non-operator's search found an account they cannot read: %+v %v", page, err)
	}
}

func TestNonOperatorsListTheirOwnAccounts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	a1 := w.env.AddAccount(t, w.ten, "Mine B")
	a2 := w.env.AddAccount(t, w.ten, "mine a")
	w.env.AddAccount(t, w.ten, "Not mine")
	u := w.env.AddUser(t, w.ten, a1, "member@example.org", "")
	w.env.AddMembership(t, w.ten, a2, u.ID, u.Email, access.RoleAdmin)
	me := callerOf(w.ten, u.ID, a1, access.RoleViewer)
	if got := all(t, w, directory.AccountQuery{Caller: me, Sort: directory.SortName}); !slices.Equal(got, []string{"mine a", "Mine B"}) {
		t.Errorf("my accounts: %v", got)
	}
	if got := all(t, w, directory.AccountQuery{Caller: me, Sort: directory.SortName, Desc: true, Name: "mine b"}); !slices.Equal(got, []string{"Mine B"}) {
		t.Errorf("my accounts named mine b: %v", got)
	}
}

func TestCursorsAreCheckedAgainstTheirList(t *testing.T) {
	t.Parallel()
	w, op, _ := directoryWorld(t)
	page, err := w.dir.Accounts(context.Background(), directory.AccountQuery{Caller: op, Sort: directory.SortName, Limit: 2})
	if err != nil || page.NextCursor == "" {
		t.Fatal(err, page)
	}
	// The same cursor in another tenant, another sort or tampered with is a 400.
	other := newWorld(t)
	otherOp := other.operator(t)
	for name, q := range map[string]directory.AccountQuery{
		"other tenant": {Caller: otherOp, Sort: directory.SortName, Limit: 2, Cursor: page.NextCursor},
		"other sort":   {Caller: op, Sort: directory.SortCreated, Limit: 2, Cursor: page.NextCursor},
		"tampered":     {Caller: op, Sort: directory.SortName, Limit: 2, Cursor: page.NextCursor[:len(page.NextCursor)-3] + "xyz"},
		"garbage":      {Caller: op, Sort: directory.SortName, Limit: 2, Cursor: "!!!"},
	} {
		dir := w.dir
		if q.Caller.Tenant == otherOp.Tenant {
			dir = other.dir
		}
		if _, err := dir.Accounts(context.Background(), q); !errors.Is(err, apperr.ErrBadCursor) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestParseAccountQuery(t *testing.T) {
	t.Parallel()
	c := access.Caller{}
	cases := []struct {
		params map[string]string
		bad    string // the field reported, "" for valid
	}{
		{map[string]string{}, ""},
		{map[string]string{"sort": "status", "order": "desc", "q": " ACME ", "limit": "200"}, ""},
		{map[string]string{"sort": "size"}, "sort"},
		{map[string]string{"order": "up"}, "order"},
		{map[string]string{"limit": "0"}, "limit"},
		{map[string]string{"limit": "201"}, "limit"},
		{map[string]string{"limit": "ten"}, "limit"},
		{map[string]string{"status": "gone"}, "status"},
		{map[string]string{"q": "a", "sort": "created"}, "sort"},
		{map[string]string{"member": "a", "q": "b"}, "member"},
		{map[string]string{"q": strings.Repeat("a", 101)}, "q"},
		{map[string]string{"q": "a\nb"}, "q"},
	}
	for _, tc := range cases {
		q, err := directory.ParseAccountQuery(c, tc.params, 50, 200)
		e, _ := apperr.As(err)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v: %v", tc.params, err)
		case tc.bad != "" && (e == nil || len(e.Fields) == 0 || e.Fields[0].Field != tc.bad):
			t.Errorf("%v: want a problem with %s, got %v", tc.params, tc.bad, err)
		}
		if tc.bad == "" && tc.params["q"] != "" && q.Name != "acme" {
			t.Errorf("q is trimmed and lower-cased: %q", q.Name)
		}
	}
}
