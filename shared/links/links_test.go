package links_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env   *testkit.Env
	ten   testkit.Tenant
	svc   *links.Service
	admin access.Caller // Admin of the tenant's account (and of the accounts w.account adds)
	// operator is tenant support staff, not switched anywhere: links.manage
	// is tenant administration, theirs in every account without a switch.
	operator access.Caller
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	return &world{env: env, ten: ten, svc: links.New(env.Service()),
		admin:    access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}},
		operator: access.Caller{Tenant: ten.Tenant, UserID: "support-1", SessionID: "s", AccountID: ten.AccountID, Operator: true}}
}

// account adds an account the tenant's admin administers (which does not
// let them link it: only operators link).
func (w *world) account(t testing.TB, name string) string {
	t.Helper()
	id := w.env.AddAccount(t, w.ten, name)
	w.env.AddMembership(t, w.ten, id, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	return id
}

func (w *world) read(t testing.TB, id string) accounts.Account {
	t.Helper()
	var a accounts.Account
	if ok, err := w.env.Store.Get(context.Background(), w.ten.Account(id), &a); err != nil || !ok {
		t.Fatalf("read account %s: %v %v", id, ok, err)
	}
	return a
}

func (w *world) changes(t testing.TB, accountID, action string) []changelog.Entry {
	t.Helper()
	return w.env.Changes(t, w.ten.Tenant, accountID, action)
}

func code(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Code
	}
	if err != nil {
		return err.Error()
	}
	return ""
}

func TestLinkShowUnlink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	parent, b, c := w.ten.AccountID, w.account(t, "Beta"), w.account(t, "Alpha")

	linked, err := w.svc.LinkExisting(ctx, w.operator, parent, b)
	if err != nil {
		t.Fatal(err)
	}
	if fam := linked.Family; linked.Child.ID != b || linked.Child.ParentID != parent || fam.Role != links.RoleParent || fam.Parent.ID != parent || len(fam.Children) != 1 || fam.Children[0].ID != b {
		t.Fatalf("family after link: %+v", fam)
	}
	if _, err := w.svc.LinkExisting(ctx, w.operator, parent, c); err != nil {
		t.Fatal(err)
	}
	// The family reads the same from any member of it, children by name
	// (the Admin, who may read it but not link).
	for _, id := range []string{parent, b, c} {
		fam, err := w.svc.Family(ctx, w.admin, id)
		if err != nil || fam.Parent.ID != parent || len(fam.Children) != 2 || fam.Children[0].Name != "Alpha" {
			t.Fatalf("family of %s: %+v %v", id, fam, err)
		}
		want := links.RoleChild
		if id == parent {
			want = links.RoleParent
		}
		if fam.Role != want {
			t.Fatalf("role of %s = %s", id, fam.Role)
		}
	}
	if p := w.read(t, parent); p.ChildCount != 2 || p.Version != 3 {
		t.Fatalf("parent item: %+v", p)
	}
	if ch := w.read(t, b); ch.ParentID != parent || ch.Version != 2 {
		t.Fatalf("child item: %+v", ch)
	}
	if len(w.changes(t, parent, "account.child_linked")) != 2 || len(w.changes(t, b, "account.linked")) != 1 {
		t.Fatal("link not in the change logs")
	}

	if err := w.svc.Unlink(ctx, w.operator, parent, b); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Unlink(ctx, w.operator, parent, b); code(err) != "not_linked" {
		t.Fatalf("unlink twice: %v", err)
	}
	if fam, _ := w.svc.Family(ctx, w.admin, b); fam.Role != links.RoleUnlinked || fam.Parent != nil || len(fam.Children) != 0 {
		t.Fatalf("unlinked child: %+v", fam)
	}
	if p := w.read(t, parent); p.ChildCount != 1 {
		t.Fatalf("parent after unlink: %+v", p)
	}
	if len(w.changes(t, b, "account.unlinked")) != 1 || len(w.changes(t, parent, "account.child_unlinked")) != 1 {
		t.Fatal("unlink not in the change logs")
	}
	// An unlinked account can be linked again (elsewhere).
	if _, err := w.svc.LinkExisting(ctx, w.operator, c, b); code(err) != "parent_is_a_child" {
		t.Fatalf("under a child: %v", err)
	}
	if err := w.svc.Unlink(ctx, w.operator, parent, c); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.LinkExisting(ctx, w.operator, c, b); err != nil {
		t.Fatalf("relink: %v", err)
	}
}

// The one-level rule and the other refusals, each with its own answer, and
// none changes anything.
func TestLinkRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	p, c, x := w.ten.AccountID, w.account(t, "Child"), w.account(t, "Other")
	if _, err := w.svc.LinkExisting(ctx, w.operator, p, c); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		parent, child string
		code          string
	}{
		{"self", x, x, "validation_failed"},
		{"second parent", x, c, "already_has_parent"},
		{"same link again", p, c, "already_has_parent"},
		{"a parent becomes a child", x, p, "child_has_children"},
		{"a child becomes a parent", c, x, "parent_is_a_child"},
		{"a cycle", c, p, "child_has_children"},
		{"unknown child", p, "nope", "not_found"},
	}
	for _, tc := range cases {
		if _, err := w.svc.LinkExisting(ctx, w.operator, tc.parent, tc.child); code(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if a, b := w.read(t, x), w.read(t, p); a.Version != 1 || a.ParentID != "" || b.ChildCount != 1 {
		t.Fatalf("a refusal changed something: %+v %+v", a, b)
	}
}

// Two operators link A→B and B→A at the same moment: exactly one succeeds, and
// the other is told which rule it would break.
func TestOppositeLinksRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	for trial := range 100 {
		a, b := w.env.AddAccount(t, w.ten, fmt.Sprintf("A%d", trial)), w.env.AddAccount(t, w.ten, fmt.Sprintf("B%d", trial))
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, pair := range [][2]string{{a, b}, {b, a}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = w.svc.LinkExisting(ctx, w.operator, pair[0], pair[1])
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case apperr.KindOf(err) != apperr.KindConflict:
				t.Fatalf("trial %d: unexpected %v", trial, err)
			}
		}
		if ok != 1 {
			t.Fatalf("trial %d: %d links succeeded (%v)", trial, ok, errs)
		}
		ra, rb := w.read(t, a), w.read(t, b)
		if (ra.ParentID == b) == (rb.ParentID == a) || ra.ChildCount+rb.ChildCount != 1 {
			t.Fatalf("trial %d: a=%+v b=%+v", trial, ra, rb)
		}
	}
}

// Random links and unlinks among a few accounts, all at once: whatever
// wins, the family rules hold at the end and the counts match the links.
func TestConcurrentLinkingKeepsTheRules(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	var ids []string
	for i := range 6 {
		ids = append(ids, w.env.AddAccount(t, w.ten, fmt.Sprintf("N%d", i)))
	}
	r := rand.New(rand.NewPCG(7, 9))
	var wg sync.WaitGroup
	for range 60 {
		p, c := ids[r.IntN(len(ids))], ids[r.IntN(len(ids))]
		unlink := r.IntN(4) == 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if unlink {
				err = w.svc.Unlink(ctx, w.operator, p, c)
			} else {
				_, err = w.svc.LinkExisting(ctx, w.operator, p, c)
			}
			if k := apperr.KindOf(err); err != nil && k != apperr.KindConflict && k != apperr.KindNotFound && k != apperr.KindUnprocessable {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	children := map[string]int64{}
	for _, id := range ids {
		a := w.read(t, id)
		items, err := w.env.Store.QueryAll(ctx, store.Query{Partition: w.ten.Account(id).PK, SKPrefix: table.ChildPrefix}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(items)) != a.ChildCount {
			t.Fatalf("%s: childCount %d, %d links", id, a.ChildCount, len(items))
		}
		if a.ParentID != "" && a.ChildCount > 0 {
			t.Fatalf("%s is both a parent and a child", id)
		}
		if a.ParentID != "" {
			children[a.ParentID]++
		}
	}
	for _, id := range ids {
		if a := w.read(t, id); children[id] != a.ChildCount || (a.ChildCount > 0 && a.ParentID != "") {
			t.Fatalf("%s: %d children point at it, childCount %d", id, children[id], a.ChildCount)
		}
	}
}

// Many parents race for one child: it gets exactly one.
func TestOneParentUnderRace(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	child := w.env.AddAccount(t, w.ten, "Wanted")
	var parents []string
	for i := range 10 {
		parents = append(parents, w.env.AddAccount(t, w.ten, fmt.Sprintf("P%d", i)))
	}
	errs := make([]error, len(parents))
	var wg sync.WaitGroup
	for i, p := range parents {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = w.svc.LinkExisting(ctx, w.operator, p, child) }()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if apperr.KindOf(err) != apperr.KindConflict {
			t.Fatal(err)
		}
	}
	total := int64(0)
	for _, p := range parents {
		total += w.read(t, p).ChildCount
	}
	if ok != 1 || total != 1 || w.read(t, child).ParentID == "" {
		t.Fatalf("%d succeeded, %d children counted", ok, total)
	}
}

func TestCreateChild(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	created, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: "  Subsidiary  "})
	if err != nil {
		t.Fatal(err)
	}
	if created.Child.Name != "Subsidiary" || created.Child.ParentID != w.ten.AccountID || len(created.Family.Children) != 1 {
		t.Fatalf("created: %+v", created)
	}
	// The new account starts without members: not the operator who made it
	// (support enters by a switch, never by a membership), nor the
	// parent's Admin (its first Admin joins by an invitation).
	for _, u := range []string{w.operator.UserID, w.ten.AdminID} {
		var none accounts.Membership
		if ok, err := w.env.Store.Get(ctx, w.ten.Membership(created.Child.ID, u), &none); err != nil || ok {
			t.Fatalf("%s became a member of the new child: %+v %v %v", u, none, ok, err)
		}
	}
	if e := w.changes(t, created.Child.ID, "account.created"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorOperator, ID: w.operator.UserID}) {
		t.Fatalf("creation in the child's log: %+v", e)
	}
	if e := w.changes(t, w.ten.AccountID, "account.child_linked"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorOperator, ID: w.operator.UserID}) {
		t.Fatalf("creation in the parent's log: %+v", e)
	}
	// A child cannot have children of its own.
	_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: created.Child.ID, Name: "Grandchild"})
	if code(err) != "parent_is_a_child" {
		t.Fatalf("grandchild: %v", err)
	}
	for _, bad := range []string{"", "   ", "bad\x00name", string(make([]rune, links.MaxNameRunes+1))} {
		if _, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: bad}); apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if p := w.read(t, w.ten.AccountID); p.ChildCount != 1 {
		t.Fatalf("a refused creation linked a child: %+v", p)
	}
}

func TestDetachChildrenKeepsThem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.account(t, "A"), w.account(t, "B")
	for _, c := range []string{a, b} {
		if _, err := w.svc.LinkExisting(ctx, w.operator, w.ten.AccountID, c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := w.svc.DetachChildren(ctx, w.ten.Tenant, w.ten.AccountID, changelog.Actor{Kind: changelog.ActorUser, ID: w.ten.AdminID}, "parent closed")
	if err != nil || n != 2 {
		t.Fatalf("detach: %d %v", n, err)
	}
	for _, c := range []string{a, b} {
		acc := w.read(t, c)
		log := w.changes(t, c, "account.unlinked")
		if acc.ParentID != "" || acc.Status != accounts.StatusActive || len(log) != 1 || log[0].After["reason"] != "parent closed" {
			t.Fatalf("child %s: %+v %+v", c, acc, log)
		}
	}
	if p := w.read(t, w.ten.AccountID); p.ChildCount != 0 {
		t.Fatalf("parent: %+v", p)
	}
}

// Who may: tenant operators only. An Admin of both accounts, a Viewer and
// another tenant's Admin are refused, and refusals change nothing; every
// member reads the family; another tenant does not see the accounts at all.
func TestLinkPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	p := w.ten.AccountID
	c := w.env.AddAccount(t, w.ten, "Child")
	adminOfParentOnly := w.admin // not a member of c
	viewer := w.env.AddUser(t, w.ten, p, "viewer@links-perm.example", "")
	w.env.AddMembership(t, w.ten, c, viewer.ID, viewer.Email, access.RoleViewer)
	asViewer := access.Caller{Tenant: w.ten.Tenant, UserID: viewer.ID, SessionID: "s", AccountID: p, Roles: []string{access.RoleViewer}}
	other := w.env.NewTenant(t)
	otherAdmin := access.Caller{Tenant: other.Tenant, UserID: other.AdminID, SessionID: "s", AccountID: other.AccountID, Roles: []string{access.RoleAdmin}}

	for _, tc := range []struct {
		name   string
		caller access.Caller
		link   string // the refusal's code
		family apperr.Kind
	}{
		{"admin of the parent only", adminOfParentOnly, "operators_only", 0},
		{"viewer of both", asViewer, "operators_only", 0},
		{"other tenant's admin", otherAdmin, "not_found", apperr.KindNotFound},
	} {
		_, err := w.svc.LinkExisting(ctx, tc.caller, p, c)
		if code(err) != tc.link {
			t.Errorf("%s link: %v, want %s", tc.name, err, tc.link)
		}
		_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: tc.caller, ParentID: c, Name: "X"})
		if code(err) != tc.link {
			t.Errorf("%s create child: %v, want %s", tc.name, err, tc.link)
		}
		_, err = w.svc.Family(ctx, tc.caller, p)
		if (err == nil) != (tc.family == 0) || (err != nil && apperr.KindOf(err) != tc.family) {
			t.Errorf("%s family: %v", tc.name, err)
		}
	}
	if acc := w.read(t, c); acc.ParentID != "" || acc.Version != 1 || acc.ChildCount != 0 {
		t.Fatalf("a refused link changed the child: %+v", acc)
	}
	if acc := w.read(t, p); acc.ChildCount != 0 {
		t.Fatalf("a refused link changed the parent: %+v", acc)
	}
	// Admin of both: still refused (linking is tenant administration).
	w.env.AddMembership(t, w.ten, c, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	if _, err := w.svc.LinkExisting(ctx, w.admin, p, c); code(err) != "operators_only" {
		t.Fatalf("admin of both links: %v", err)
	}
	if _, err := w.svc.LinkExisting(ctx, w.operator, p, c); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		caller access.Caller
		code   string
	}{{"viewer", asViewer, "operators_only"}, {"admin of both", w.admin, "operators_only"}, {"other tenant's admin", otherAdmin, "not_found"}} {
		if err := w.svc.Unlink(ctx, tc.caller, p, c); code(err) != tc.code {
			t.Fatalf("%s unlinks: %v, want %s", tc.name, err, tc.code)
		}
	}
	if acc := w.read(t, c); acc.ParentID != p {
		t.Fatalf("a refused unlink unlinked: %+v", acc)
	}
	if err := w.svc.Unlink(ctx, w.operator, p, c); err != nil {
		t.Fatalf("operator unlink: %v", err)
	}
	if e := w.changes(t, c, "account.unlinked"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorOperator, ID: "support-1"}) {
		t.Fatalf("operator unlink log: %+v", e)
	}
}

// Linking is tenant administration: the Admin of every account involved is
// refused (403 operators_only) to link, unlink and create a child, and
// nothing is written; an operator does each without a switch, logged in
// both accounts as kind operator with only their id. An operator switched
// into the parent with a reason is support in the parent's log (with the
// account and the reason) and an operator in the child's.
func TestLinksAreTenantAdministration(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	p, c := w.ten.AccountID, w.account(t, "Child") // the Admin administers both
	asOperator := changelog.Actor{Kind: changelog.ActorOperator, ID: w.operator.UserID}
	logged := func(accountID, action string) []changelog.Entry { return w.changes(t, accountID, action) }
	nothingWritten := func(when string) {
		t.Helper()
		if pa, ca := w.read(t, p), w.read(t, c); pa.Version != 1 || pa.ChildCount != 0 || ca.Version != 1 || ca.ParentID != "" {
			t.Fatalf("%s: the refusal changed the accounts: %+v %+v", when, pa, ca)
		}
		for _, x := range []struct{ acc, action string }{{p, "account.child_linked"}, {c, "account.linked"}, {p, "account.child_unlinked"}, {c, "account.unlinked"}} {
			if e := logged(x.acc, x.action); len(e) != 0 {
				t.Fatalf("%s: the refusal logged %s: %+v", when, x.action, e)
			}
		}
		if items, err := w.env.Store.QueryAll(ctx, store.Query{Partition: w.ten.Account(p).PK, SKPrefix: table.ChildPrefix}, 0); err != nil || len(items) != 0 {
			t.Fatalf("%s: link items %d %v", when, len(items), err)
		}
	}
	forbidden := func(what string, err error) {
		t.Helper()
		if e, ok := apperr.As(err); !ok || e.Kind != apperr.KindForbidden || e.Code != "operators_only" {
			t.Fatalf("admin %s: %v, want 403 operators_only", what, err)
		}
	}

	_, err := w.svc.LinkExisting(ctx, w.admin, p, c)
	forbidden("links", err)
	_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.admin, ParentID: p, Name: "By the Admin"})
	forbidden("creates a child", err)
	nothingWritten("admin link and create")

	if _, err := w.svc.LinkExisting(ctx, w.operator, p, c); err != nil {
		t.Fatalf("operator links: %v", err)
	}
	for _, x := range []struct{ acc, action string }{{p, "account.child_linked"}, {c, "account.linked"}} {
		if e := logged(x.acc, x.action); len(e) != 1 || e[0].Actor != asOperator {
			t.Fatalf("%s in %s: %+v", x.action, x.acc, e)
		}
	}
	forbidden("unlinks", w.svc.Unlink(ctx, w.admin, p, c))
	if ca := w.read(t, c); ca.ParentID != p || len(logged(c, "account.unlinked")) != 0 {
		t.Fatalf("a refused unlink unlinked: %+v", ca)
	}
	if err := w.svc.Unlink(ctx, w.operator, p, c); err != nil {
		t.Fatalf("operator unlinks: %v", err)
	}
	for _, x := range []struct{ acc, action string }{{p, "account.child_unlinked"}, {c, "account.unlinked"}} {
		if e := logged(x.acc, x.action); len(e) != 1 || e[0].Actor != asOperator {
			t.Fatalf("%s in %s: %+v", x.action, x.acc, e)
		}
	}

	// Switched into the parent with a reason: support there, operator in
	// the new child.
	switched := w.operator
	switched.AccountID, switched.SupportReason = p, "ticket 812: set up the subsidiary"
	created, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: switched, ParentID: p, Name: "Subsidiary"})
	if err != nil {
		t.Fatalf("switched operator creates a child: %v", err)
	}
	want := changelog.Actor{Kind: changelog.ActorSupport, ID: switched.UserID, AccountID: p, Reason: switched.SupportReason}
	if e := logged(p, "account.child_linked"); len(e) != 2 || !slices.ContainsFunc(e, func(x changelog.Entry) bool { return x.Actor == want }) {
		t.Fatalf("support in the parent's log: %+v", e)
	}
	if e := logged(created.Child.ID, "account.created"); len(e) != 1 || e[0].Actor != asOperator {
		t.Fatalf("operator in the child's log: %+v", e)
	}
}

// New linked children count against the tenant's accounts-per-hour cap,
// operators included: the cap+1-th is 429 and writes nothing, and racing
// creations never pass it.
func TestCreateChildIsCappedPerHour(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	err := w.env.Store.Do(ctx, "set tenant limits", store.Update(w.ten.Settings(),
		expression.Set(expression.Name("limits"), expression.Value(tenancy.Limits{AccountsPerHour: 4}))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 10)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: fmt.Sprintf("Child %d", i)})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case code(err) != "tenant_hourly_cap" && code(err) != "link_conflict":
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won > 4 {
		t.Fatalf("%d racing creations succeeded under a cap of 4", won)
	}
	// Racing links of one parent may lose to each other (link_conflict):
	// the losers try again, until the cap says no.
	for won < 4 {
		_, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: "Retry"})
		if err != nil {
			t.Fatalf("under the cap: %v", err)
		}
		won++
	}
	_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: "One too many"})
	if e, ok := apperr.As(err); !ok || e.Code != "tenant_hourly_cap" || e.Extra["retryAfterSeconds"] == nil {
		t.Fatalf("the 5th child of the hour: %v", err)
	}
	if p := w.read(t, w.ten.AccountID); p.ChildCount != 4 {
		t.Fatalf("%d children, want 4 (the cap)", p.ChildCount)
	}
	w.env.Clock.Advance(time.Hour)
	if _, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: "Next hour"}); err != nil {
		t.Fatalf("next hour: %v", err)
	}
}
