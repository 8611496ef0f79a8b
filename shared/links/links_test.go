package links_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

type world struct {
	env      *testkit.Env
	ten      testkit.Tenant
	svc      *links.Service
	admin    access.Caller
	operator access.Caller
}

func newWorld(t testing.TB) *world {
	t.Helper()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	return &world{env: env, ten: ten, svc: links.New(env.Deps),
		admin:    access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}},
		operator: access.Caller{Tenant: ten.Tenant, UserID: "support-1", SessionID: "s", AccountID: ten.AccountID, Operator: true}}
}

// account adds an account the tenant's admin administers.
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

	linked, err := w.svc.LinkExisting(ctx, w.admin, parent, b)
	if err != nil {
		t.Fatal(err)
	}
	if fam := linked.Family; linked.Child.ID != b || linked.Child.ParentID != parent || fam.Role != links.RoleParent || fam.Parent.ID != parent || len(fam.Children) != 1 || fam.Children[0].ID != b {
		t.Fatalf("family after link: %+v", fam)
	}
	if _, err := w.svc.LinkExisting(ctx, w.admin, parent, c); err != nil {
		t.Fatal(err)
	}
	// The family reads the same from any member of it, children by name.
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

	if err := w.svc.Unlink(ctx, w.admin, parent, b); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Unlink(ctx, w.admin, parent, b); code(err) != "not_linked" {
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
	if _, err := w.svc.LinkExisting(ctx, w.admin, c, b); code(err) != "parent_is_a_child" {
		t.Fatalf("under a child: %v", err)
	}
	if err := w.svc.Unlink(ctx, w.admin, parent, c); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.LinkExisting(ctx, w.admin, c, b); err != nil {
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
	if _, err := w.svc.LinkExisting(ctx, w.admin, p, c); err != nil {
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
		if _, err := w.svc.LinkExisting(ctx, w.admin, tc.parent, tc.child); code(err) != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
	if a, b := w.read(t, x), w.read(t, p); a.Version != 1 || a.ParentID != "" || b.ChildCount != 1 {
		t.Fatalf("a refusal changed something: %+v %+v", a, b)
	}
}

// Two admins link A→B and B→A at the same moment: exactly one succeeds, and
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
	created, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.admin, ParentID: w.ten.AccountID, Name: "  Subsidiary  "})
	if err != nil {
		t.Fatal(err)
	}
	if created.Child.Name != "Subsidiary" || created.Child.ParentID != w.ten.AccountID || len(created.Family.Children) != 1 {
		t.Fatalf("created: %+v", created)
	}
	// The creator administers the new account, as an external member.
	var m accounts.Membership
	if ok, err := w.env.Store.Get(ctx, w.ten.Membership(created.Child.ID, w.ten.AdminID), &m); err != nil || !ok ||
		m.Roles[0] != access.RoleAdmin || !m.External || m.Licence == "" || m.Email != w.ten.AdminEmail {
		t.Fatalf("creator's membership: %+v %v %v", m, ok, err)
	}
	if len(w.changes(t, created.Child.ID, "account.created")) != 1 || len(w.changes(t, w.ten.AccountID, "account.child_linked")) != 1 {
		t.Fatal("creation not in the change logs")
	}
	// A child cannot have children of its own.
	_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: created.Child.ID, Name: "Grandchild"})
	if code(err) != "parent_is_a_child" {
		t.Fatalf("grandchild: %v", err)
	}
	for _, bad := range []string{"", "   ", "bad\x00name", string(make([]rune, links.MaxNameRunes+1))} {
		if _, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.admin, ParentID: w.ten.AccountID, Name: bad}); apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	// An operator creates one without becoming a member.
	byOp, err := w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: "By support"})
	if err != nil {
		t.Fatal(err)
	}
	var none accounts.Membership
	if ok, err := w.env.Store.Get(ctx, w.ten.Membership(byOp.Child.ID, w.operator.UserID), &none); err != nil || ok {
		t.Fatalf("the operator became a member: %v %v", ok, err)
	}
	if e := w.changes(t, byOp.Child.ID, "account.created"); len(e) != 1 || e[0].Actor.Kind != changelog.ActorSupport {
		t.Fatalf("support creation log: %+v", e)
	}
}

func TestDetachChildrenKeepsThem(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a, b := w.account(t, "A"), w.account(t, "B")
	for _, c := range []string{a, b} {
		if _, err := w.svc.LinkExisting(ctx, w.admin, w.ten.AccountID, c); err != nil {
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

// Who may: an Admin of both accounts, or an operator. Refusals change
// nothing; another tenant does not see the accounts at all.
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
		link   apperr.Kind
		family apperr.Kind
	}{
		{"admin of the parent only", adminOfParentOnly, apperr.KindForbidden, 0},
		{"viewer of both", asViewer, apperr.KindForbidden, 0},
		{"other tenant's admin", otherAdmin, apperr.KindNotFound, apperr.KindNotFound},
	} {
		_, err := w.svc.LinkExisting(ctx, tc.caller, p, c)
		if apperr.KindOf(err) != tc.link || err == nil {
			t.Errorf("%s link: %v", tc.name, err)
		}
		_, err = w.svc.CreateChild(ctx, links.CreateChildCommand{Caller: tc.caller, ParentID: c, Name: "X"})
		if err == nil {
			t.Errorf("%s created a child", tc.name)
		}
		_, err = w.svc.Family(ctx, tc.caller, p)
		if (err == nil) != (tc.family == 0) || (err != nil && apperr.KindOf(err) != tc.family) {
			t.Errorf("%s family: %v", tc.name, err)
		}
	}
	if acc := w.read(t, c); acc.ParentID != "" || acc.Version != 1 {
		t.Fatalf("a refused link changed the child: %+v", acc)
	}
	// Admin of both: allowed; then the viewer may not unlink.
	w.env.AddMembership(t, w.ten, c, w.ten.AdminID, w.ten.AdminEmail, access.RoleAdmin)
	if _, err := w.svc.LinkExisting(ctx, w.admin, p, c); err != nil {
		t.Fatal(err)
	}
	if err := w.svc.Unlink(ctx, asViewer, p, c); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("viewer unlink: %v", err)
	}
	if err := w.svc.Unlink(ctx, otherAdmin, p, c); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("other tenant unlink: %v", err)
	}
	if err := w.svc.Unlink(ctx, w.operator, p, c); err != nil {
		t.Fatalf("operator unlink: %v", err)
	}
	if e := w.changes(t, c, "account.unlinked"); len(e) != 1 || e[0].Actor != (changelog.Actor{Kind: changelog.ActorSupport, ID: "support-1", AccountID: w.ten.AccountID}) {
		t.Fatalf("support unlink log: %+v", e)
	}
}
