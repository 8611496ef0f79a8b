package content_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/content"
)

func TestRegisterRequestValidation(t *testing.T) {
	cases := []struct {
		name   string
		req    content.RegisterRequest
		fields int
	}{
		{"ok", content.RegisterRequest{Type: "automation", Name: " Nightly sync ", OwnerID: "u1"}, 0},
		{"all bad", content.RegisterRequest{Type: "Automation!", Name: "", OwnerID: ""}, 3},
		{"control characters", content.RegisterRequest{Type: "report", Name: "a\nb", OwnerID: "u1"}, 1},
		{"key separator", content.RegisterRequest{Type: "report", Name: "x", OwnerID: "u#1"}, 1},
		{"owner with a slash", content.RegisterRequest{Type: "report", Name: "x", OwnerID: "u/1"}, 1},
		{"owner not ASCII", content.RegisterRequest{Type: "report", Name: "x", OwnerID: "ü1"}, 1},
		{"owner of 65 characters", content.RegisterRequest{Type: "report", Name: "x", OwnerID: strings.Repeat("u", 65)}, 1},
		{"owner of 64 characters", content.RegisterRequest{Type: "report", Name: "Nightly sync", OwnerID: strings.Repeat("u", 64)}, 0},
		{"long name", content.RegisterRequest{Type: "report", Name: string(make([]byte, 201)), OwnerID: "u1"}, 1},
	}
	for _, c := range cases {
		cmd, err := c.req.Command(access.Caller{}, "a")
		if c.fields == 0 {
			if err != nil || cmd.Name != "Nightly sync" {
				t.Errorf("%s: %+v %v", c.name, cmd, err)
			}
			continue
		}
		if e, ok := apperr.As(err); !ok || len(e.Fields) != c.fields {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestStartRequestValidation(t *testing.T) {
	caller := access.Caller{AccountID: "A1"}
	cases := []struct {
		name   string
		req    content.StartRequest
		fields []string
	}{
		{"ok", content.StartRequest{TargetUserID: "u2"}, nil},
		{"another account", content.StartRequest{TargetUserID: "u2", AccountID: "A2"}, nil},
		{"no target", content.StartRequest{}, []string{"targetUserId"}},
		{"target with a slash", content.StartRequest{TargetUserID: "u/2"}, []string{"targetUserId"}},
		{"account with a key separator", content.StartRequest{TargetUserID: "u2", AccountID: "A#2"}, []string{"accountId"}},
		{"account not ASCII", content.StartRequest{TargetUserID: "u2", AccountID: "Ä2"}, []string{"accountId"}},
	}
	for _, c := range cases {
		_, err := c.req.Command(caller, "u1")
		var got []string
		if e, ok := apperr.As(err); ok {
			for _, f := range e.Fields {
				got = append(got, f.Field)
			}
		} else if err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if !slices.Equal(got, c.fields) {
			t.Errorf("%s: fields %v, want %v (%v)", c.name, got, c.fields, err)
		}
	}
}

func TestContentLifecycle(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	register := func(c access.Caller, typ, name, owner string) (content.Registered, error) {
		cmd, err := content.RegisterRequest{Type: typ, Name: name, OwnerID: owner}.Command(c, w.ten.AccountID)
		if err != nil {
			return content.Registered{}, err
		}
		return w.svc.Register(ctx, cmd)
	}
	a, err := register(w.admin, "automation", "Nightly sync", w.source.ID)
	if err != nil || a.OwnerID != w.source.ID || a.Version != 1 {
		t.Fatalf("register: %+v %v", a, err)
	}
	if _, err := register(w.admin, "assembly", "Gearbox", w.target.ID); err != nil {
		t.Fatal(err)
	}
	// The owner must be a member; nothing is stored otherwise.
	if _, err := register(w.admin, "report", "Orphan", "no-such-user"); apperr.KindOf(err) != apperr.KindUnprocessable {
		t.Fatalf("non-member owner: %v", err)
	}
	page, err := w.svc.List(ctx, content.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Limit: 1})
	if err != nil || len(page.Items) != 1 || page.Cursor == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	next, err := w.svc.List(ctx, content.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, Limit: 1, Cursor: page.Cursor})
	if err != nil || len(next.Items) != 1 || next.Items[0].ID == page.Items[0].ID {
		t.Fatalf("second page: %+v %v", next, err)
	}
	// A cursor from one owner's list does not work on another's.
	mine, _ := w.svc.List(ctx, content.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, OwnerID: w.source.ID, Limit: 1})
	if len(mine.Items) != 1 || mine.Items[0].ID != a.ID {
		t.Fatalf("by owner: %+v", mine)
	}
	if _, err := w.svc.List(ctx, content.ListQuery{Caller: w.admin, AccountID: w.ten.AccountID, OwnerID: w.target.ID, Cursor: page.Cursor}); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("foreign cursor: %v", err)
	}
	got, err := w.svc.Get(ctx, w.admin, w.ten.AccountID, a.ID)
	if err != nil || got.Name != "Nightly sync" || got.ContentType != "automation" {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := w.svc.Delete(ctx, w.admin, w.ten.AccountID, a.ID, 7); apperr.KindOf(err) != apperr.KindPreconditionFailed {
		t.Fatalf("stale If-Match: %v", err)
	}
	if err := w.svc.Delete(ctx, w.admin, w.ten.AccountID, a.ID, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Get(ctx, w.admin, w.ten.AccountID, a.ID); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("get deleted: %v", err)
	}
	if err := w.svc.Delete(ctx, w.admin, w.ten.AccountID, a.ID, 0); apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("delete twice: %v", err)
	}
	if len(w.changes(t, "content.registered")) != 2 || len(w.changes(t, "content.deleted")) != 1 {
		t.Fatal("registrations and deletions are logged")
	}
}

// Viewers read but do not register or delete; an Admin of another account
// is refused; another tenant does not see the account. Content is account
// work, reading it too: an operator not switched into the account (or
// switched into another one) is 403 switch_required; switched in with a
// reason, they read, register and delete.
func TestContentPermissions(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	cmd, _ := content.RegisterRequest{Type: "report", Name: "Q4", OwnerID: w.source.ID}.Command(w.admin, w.ten.AccountID)
	item, err := w.svc.Register(ctx, cmd)
	if err != nil {
		t.Fatal(err)
	}
	second := w.env.AddAccount(t, w.ten, "Second")
	otherAdmin := w.env.AddUser(t, w.ten, second, "admin2@"+w.ten.ID()+".example", "", access.RoleAdmin)
	other := w.env.NewTenant(t)
	for _, c := range []struct {
		name        string
		caller      access.Caller
		write, read string // the refusal's code; "" allowed
	}{
		{"viewer", access.Caller{Tenant: w.ten.Tenant, UserID: w.source.ID, SessionID: "s", AccountID: w.ten.AccountID, Roles: []string{access.RoleViewer}}, "forbidden", ""},
		{"admin of another account", access.Caller{Tenant: w.ten.Tenant, UserID: otherAdmin.ID, SessionID: "s", AccountID: second, Roles: []string{access.RoleAdmin}}, "forbidden", "forbidden"},
		{"other tenant's admin", access.Caller{Tenant: other.Tenant, UserID: other.AdminID, SessionID: "s", AccountID: other.AccountID, Roles: []string{access.RoleAdmin}}, "not_found", "not_found"},
		{"operator not switched", w.operator, "switch_required", "switch_required"},
		{"operator switched into another account", w.supportIn(second), "switch_required", "switch_required"},
	} {
		rc := cmd
		rc.Caller = c.caller
		if _, err := w.svc.Register(ctx, rc); code(err) != c.write {
			t.Errorf("%s register: %v, want %q", c.name, err, c.write)
		}
		if err := w.svc.Delete(ctx, c.caller, w.ten.AccountID, item.ID, 0); code(err) != c.write {
			t.Errorf("%s delete: %v, want %q", c.name, err, c.write)
		}
		if _, err := w.svc.Get(ctx, c.caller, w.ten.AccountID, item.ID); code(err) != c.read {
			t.Errorf("%s get: %v, want %q", c.name, err, c.read)
		}
		if _, err := w.svc.List(ctx, content.ListQuery{Caller: c.caller, AccountID: w.ten.AccountID, Limit: 10}); code(err) != c.read {
			t.Errorf("%s list: %v, want %q", c.name, err, c.read)
		}
	}
	if got, err := w.svc.Get(ctx, w.admin, w.ten.AccountID, item.ID); err != nil || got.Version != 1 {
		t.Fatalf("the item changed: %+v %v", got, err)
	}
	if len(w.owned(t, w.source.ID)) != 1 || len(w.changes(t, "content.registered")) != 1 {
		t.Fatal("a refused caller registered content")
	}
	// Support switched in: reads, registers and deletes, logged as support.
	support := w.supportIn(w.ten.AccountID)
	if page, err := w.svc.List(ctx, content.ListQuery{Caller: support, AccountID: w.ten.AccountID, Limit: 10}); err != nil || len(page.Items) != 1 {
		t.Fatalf("support lists: %+v %v", page, err)
	}
	rc := cmd
	rc.Caller = support
	reg, err := w.svc.Register(ctx, rc)
	if err != nil {
		t.Fatalf("support registers: %v", err)
	}
	if err := w.svc.Delete(ctx, support, w.ten.AccountID, reg.ID, 0); err != nil {
		t.Fatalf("support deletes: %v", err)
	}
	want := changelog.Actor{Kind: changelog.ActorSupport, ID: support.UserID, AccountID: w.ten.AccountID, Reason: supportReason}
	bySupport := func(e changelog.Entry) bool { return e.Actor == want && e.SubjectID == reg.ID }
	for _, action := range []string{"content.registered", "content.deleted"} {
		if log := w.changes(t, action); !slices.ContainsFunc(log, bySupport) {
			t.Fatalf("%s by support: %+v", action, log)
		}
	}
}
