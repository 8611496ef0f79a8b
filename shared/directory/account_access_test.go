package directory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// signableOperator adds a tenant operator with a password, at home in the
// tenant's account.
func signableOperator(t *testing.T, w *world) identity.User {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	op := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: "sam@support.example", FirstName: "Sam", LastName: "Support",
		Status: identity.UserActive, PasswordHash: hash, Operator: true, HomeAccountID: w.ten.AccountID, CreatedAt: w.env.Clock.Now()})
	if err := w.env.Store.Transact(context.Background(), "operator", store.Put(op), store.Put(identity.NewEmailClaim(w.ten.Tenant, op.Email, op.ID))); err != nil {
		t.Fatal(err)
	}
	w.env.AddMembership(t, w.ten, w.ten.AccountID, op.ID, op.Email, access.RoleViewer)
	return op
}

func TestAccountAccessHistoryShowsSupportByName(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.env.AddAccount(t, w.ten, "Customer A")
	adminA := w.env.AddUser(t, w.ten, a, "admin@a.example", "", access.RoleAdmin)
	viewerA := w.env.AddUser(t, w.ten, a, "viewer@a.example", "")
	op := signableOperator(t, w)
	au := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}

	w.env.Clock.Advance(time.Minute)
	if _, err := au.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: adminA.Email, Password: testkit.Password, IP: "203.0.113.5", UserAgent: "admin browser"}); err != nil {
		t.Fatal(err)
	}
	w.env.Clock.Advance(time.Minute)
	s, err := au.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: op.Email, Password: testkit.Password, IP: "198.51.100.1"})
	if err != nil {
		t.Fatal(err)
	}
	opCaller, err := au.Authorize(ctx, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	w.env.Clock.Advance(time.Minute)
	cmd, err := associates.SwitchRequest{AccountID: a, Reason: "ticket 77: export fails"}.Command(opCaller, s.Token, "198.51.100.9", "support browser")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := associates.New(w.env.Service()).Switch(ctx, cmd); err != nil {
		t.Fatal(err)
	}

	// A's Admin reads it: the support person by name and email, with the
	// reason and the client; the operator's sign-in at home is not A's.
	h, err := w.dir.AccountAccessHistory(ctx, callerOf(w.ten, adminA.ID, a, access.RoleAdmin), a, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Entries) != 2 {
		t.Fatalf("history %+v", h)
	}
	sw, in := h.Entries[0], h.Entries[1]
	if sw.Event != "switch_account" || sw.Via != identity.AccessViaSupport || sw.User.ID != op.ID || sw.User.Name != "Sam Support" ||
		sw.User.Email != op.Email || sw.Reason != "ticket 77: export fails" || sw.IP != "198.51.100.9" || sw.UserAgent != "support browser" {
		t.Fatalf("support switch %+v", sw)
	}
	if in.Event != "sign_in" || in.Via != identity.AccessViaMember || in.User.ID != adminA.ID || in.IP != "203.0.113.5" {
		t.Fatalf("sign-in %+v", in)
	}

	// A Viewer of A reads the same entries, without clients.
	hv, err := w.dir.AccountAccessHistory(ctx, callerOf(w.ten, viewerA.ID, a, access.RoleViewer), a, 50, "")
	if err != nil || len(hv.Entries) != 2 || hv.Entries[0].User.Name != "Sam Support" || hv.Entries[0].Reason == "" {
		t.Fatalf("viewer %+v %v", hv, err)
	}
	for _, e := range hv.Entries {
		if e.IP != "" || e.UserAgent != "" {
			t.Fatalf("viewer sees a client: %+v", e)
		}
	}

	// An operator reads it without a switch, clients included.
	if ho, err := w.dir.AccountAccessHistory(ctx, w.operator(t), a, 50, ""); err != nil || len(ho.Entries) != 2 || ho.Entries[1].IP == "" {
		t.Fatalf("operator %+v %v", ho, err)
	}

	// Another account's Admin is refused; another tenant does not see A.
	if _, err := w.dir.AccountAccessHistory(ctx, w.admin(), a, 50, ""); apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("another account's admin: %v", err)
	}
	foreign := newWorld(t)
	if _, err := foreign.dir.AccountAccessHistory(ctx, foreign.admin(), a, 50, ""); err == nil {
		t.Fatal("another tenant reads A")
	}
}

func TestAccountAccessHistoryExternalMemberAndOldEntries(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.env.AddAccount(t, w.ten, "Customer A")
	adminA := w.env.AddUser(t, w.ten, a, "admin@a.example", "", access.RoleAdmin)
	// A consultant at home in the tenant's account, a member of A too.
	consultant := w.env.AddUser(t, w.ten, w.ten.AccountID, "consultant@example.org", "")
	w.env.AddMembership(t, w.ten, a, consultant.ID, consultant.Email, access.RoleViewer)
	au := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	w.env.Clock.Advance(time.Minute)
	if _, err := au.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: consultant.Email, Password: testkit.Password, AccountID: a, IP: "192.0.2.4"}); err != nil {
		t.Fatal(err)
	}
	// An entry written before entries carried the account key.
	w.env.Clock.Advance(time.Minute)
	old := identity.NewAccessEntry(w.ten.Tenant, w.env.IDs.NewID(), adminA.ID, "sign_in", a, w.env.Clock.Now(), "", "")
	old.GSI1PK, old.GSI1SK = "", ""
	if err := w.env.Store.Do(ctx, "old entry", store.Put(old)); err != nil {
		t.Fatal(err)
	}
	h, err := w.dir.AccountAccessHistory(ctx, callerOf(w.ten, adminA.ID, a, access.RoleAdmin), a, 50, "")
	if err != nil || len(h.Entries) != 1 {
		t.Fatalf("history %+v %v", h, err)
	}
	e := h.Entries[0]
	if e.Via != identity.AccessViaExternal || e.User.ID != consultant.ID || e.User.Email != consultant.Email || e.User.FromProfile || e.IP != "192.0.2.4" {
		// Sign-in records the name and email as they were, and how the user entered.
		t.Fatalf("external sign-in %+v", e)
	}
}

func TestAccountAccessHistoryPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	a := w.env.AddAccount(t, w.ten, "Customer A")
	adminA := w.env.AddUser(t, w.ten, a, "admin@a.example", "", access.RoleAdmin)
	au := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	for i := range 25 {
		w.env.Clock.Advance(time.Second)
		if _, err := au.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: adminA.Email, Password: testkit.Password, UserAgent: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	caller := callerOf(w.ten, adminA.ID, a, access.RoleAdmin)
	seen := map[string]bool{}
	var last time.Time
	cursor, pages := "", 0
	for {
		w.read.reset()
		p, err := w.dir.AccountAccessHistory(ctx, caller, a, 10, cursor)
		if err != nil {
			t.Fatal(err)
		}
		if q := w.read.queries.Load(); q != 1 {
			t.Fatalf("page %d took %d queries", pages, q)
		}
		pages++
		for _, e := range p.Entries {
			if seen[e.ID] {
				t.Fatalf("duplicate %s", e.ID)
			}
			if !last.IsZero() && !e.At.Before(last) {
				t.Fatalf("not newest first: %v after %v", e.At, last)
			}
			seen[e.ID], last = true, e.At
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	if len(seen) != 25 || pages != 3 {
		t.Fatalf("%d entries in %d pages", len(seen), pages)
	}
}
