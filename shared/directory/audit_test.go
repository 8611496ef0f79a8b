package directory_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/testkit"
)

func TestChangeLogsAreNewestFirstAndPaged(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	u := w.env.AddUser(t, w.ten, w.ten.AccountID, "subject@example.org", "")
	for i := range 5 {
		w.env.Clock.Advance(time.Minute)
		name := fmt.Sprintf("Name %d", i)
		if _, err := w.adm.EditProfile(ctx, administration.EditProfile{Caller: w.admin(), UserID: u.ID, LastName: &name}); err != nil {
			t.Fatal(err)
		}
	}
	w.env.Clock.Advance(time.Minute)
	if _, err := w.adm.RenameAccount(ctx, administration.RenameAccount{Caller: w.admin(), AccountID: w.ten.AccountID, Name: "Renamed"}); err != nil {
		t.Fatal(err)
	}
	// The account's log: newest first, two at a time.
	var actions []string
	var last time.Time
	cursor := ""
	for i := 0; ; i++ {
		page, err := w.dir.AccountChanges(ctx, w.admin(), w.ten.AccountID, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Changes {
			if !last.IsZero() && c.At.After(last) {
				t.Fatalf("not newest first: %v after %v", c.At, last)
			}
			last = c.At
			actions = append(actions, c.Action)
		}
		if cursor = page.NextCursor; cursor == "" || i > 10 {
			break
		}
	}
	// 5 profile changes, the rename and the tenant's bootstrap entry.
	if len(actions) != 7 || actions[0] != "account.renamed" || actions[1] != "user.profile_changed" || actions[6] != "tenant.bootstrapped" {
		t.Fatalf("actions %v", actions)
	}
	// The user's log holds only the changes about them, with before and after.
	page, err := w.dir.UserChanges(ctx, w.admin(), u.ID, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != 5 || page.Changes[0].After["lastName"] != "Name 4" || page.Changes[0].Before["lastName"] != "Name 3" ||
		page.Changes[0].Actor.Kind != "user" || page.Changes[0].Actor.ID != w.ten.AdminID {
		t.Fatalf("user log %+v", page.Changes)
	}
	// They read their own; a member of another account does not.
	self := callerOf(w.ten, u.ID, w.ten.AccountID, access.RoleViewer)
	if _, err := w.dir.UserChanges(ctx, self, u.ID, 10, ""); err != nil {
		t.Fatal(err)
	}
	other := w.env.AddAccount(t, w.ten, "Other")
	stranger := w.env.AddUser(t, w.ten, other, "stranger@example.org", "", access.RoleAdmin)
	_, err = w.dir.UserChanges(ctx, callerOf(w.ten, stranger.ID, other, access.RoleAdmin), u.ID, 10, "")
	if apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("stranger: %v", err)
	}
	_, err = w.dir.AccountChanges(ctx, callerOf(w.ten, stranger.ID, other, access.RoleAdmin), w.ten.AccountID, 10, "")
	if apperr.KindOf(err) != apperr.KindForbidden {
		t.Fatalf("stranger reads the account log: %v", err)
	}
}

func TestAccessHistoryRecordsSignIns(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	u := w.env.AddUser(t, w.ten, w.ten.AccountID, "signer@example.org", "")
	a := &auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	for i, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		w.env.Clock.Advance(time.Minute)
		if _, err := a.SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: testkit.Password, IP: ip, UserAgent: fmt.Sprintf("agent %d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := w.dir.AccessHistory(ctx, callerOf(w.ten, u.ID, w.ten.AccountID), u.ID, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 2 || page.Entries[0].IP != "203.0.113.3" || page.Entries[0].Event != "sign_in" || page.NextCursor == "" {
		t.Fatalf("history %+v", page)
	}
	next, err := w.dir.AccessHistory(ctx, w.admin(), u.ID, 2, page.NextCursor)
	if err != nil || len(next.Entries) != 1 || next.Entries[0].UserAgent != "agent 0" {
		t.Fatalf("page 2 %+v %v", next, err)
	}
	viewer := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@example.org", "")
	// A Viewer of the same account has audit.read there.
	if _, err := w.dir.AccessHistory(ctx, callerOf(w.ten, viewer.ID, w.ten.AccountID, access.RoleViewer), u.ID, 2, ""); err != nil {
		t.Fatalf("viewer: %v", err)
	}
	foreign := newWorld(t)
	_, err = foreign.dir.AccessHistory(ctx, foreign.admin(), u.ID, 2, "")
	if apperr.KindOf(err) != apperr.KindNotFound {
		t.Fatalf("another tenant: %v", err)
	}
}
