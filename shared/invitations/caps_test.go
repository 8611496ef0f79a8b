package invitations_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// setTenantLimits writes the limits of the tenant's settings item, as PATCH
// /tenant/settings does.
func setTenantLimits(t testing.TB, env *testkit.Env, ten table.Tenant, l tenancy.Limits) {
	t.Helper()
	err := env.Store.Do(context.Background(), "set tenant limits",
		store.Update(ten.Settings(), expression.Set(expression.Name("limits"), expression.Value(l))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
}

// inviteFresh invites n fresh addresses to accountID as c, without email.
func (w *world) inviteFresh(c access.Caller, accountID string, n int, roles ...string) (invitations.InviteResult, error) {
	var emails []string
	for range n {
		emails = append(emails, address("capped"))
	}
	no := false
	cmd, err := invitations.InviteRequest{Emails: emails, Roles: roles, SendEmail: &no}.Command(c, accountID)
	if err != nil {
		return invitations.InviteResult{}, err
	}
	return w.svc.Invite(context.Background(), cmd)
}

// wantCap fails unless err is a 429 of the tenant cap setting, with code
// and a Retry-After.
func wantCap(t *testing.T, what string, err error, code, setting string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindRateLimited || e.Code != code || e.Extra["cap"] != setting {
		t.Fatalf("%s: want 429 %s of %s, got %v", what, code, setting, err)
	}
	if s, ok := e.Extra["retryAfterSeconds"].(int64); !ok || s <= 0 || s > 3600 {
		t.Fatalf("%s: retryAfterSeconds = %v", what, e.Extra["retryAfterSeconds"])
	}
}

// An inviter and a helper Admin they made in another account share the
// tenant's hourly cap on invitations, far below their own limits; resends
// count too; the next hour it works again.
func TestTenantCapsInvitationsAcrossInviters(t *testing.T) {
	t.Parallel()
	// GIVEN a tenant whose cap is 3 invitations an hour, and a helper Admin of another account
	w := newWorld(t)
	ctx := context.Background()
	setTenantLimits(t, w.env, w.ten.Tenant, tenancy.Limits{InvitationsPerHour: 3})
	other := w.env.AddAccount(t, w.ten, "Other")
	helper := w.env.AddUser(t, w.ten, other, address("helper"), "", access.RoleAdmin)
	asHelper := callerOf(w.ten, helper.ID, other, access.RoleAdmin)
	// WHEN the inviter sends 2 and the helper 1
	first, err := w.inviteFresh(w.admin, w.ten.AccountID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.inviteFresh(asHelper, other, 1); err != nil {
		t.Fatal(err)
	}
	// THEN the helper's next one is refused, and writes nothing
	_, err = w.inviteFresh(asHelper, other, 1)
	wantCap(t, "the 4th invitation of the hour", err, "invitation_rate_limited", "invitationsPerHour")
	if n := w.count(t, w.ten.Account(other).PK, "PENDING#"); n != 1 {
		t.Fatalf("%d pending invitations in the helper's account, want 1", n)
	}
	// AND so is a resend by the inviter
	_, err = w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: first.Results[0].InvitationID})
	wantCap(t, "a resend over the cap", err, "invitation_rate_limited", "invitationsPerHour")
	// AND an hour later the helper may invite again
	w.env.Clock.Advance(time.Hour)
	if _, err := w.inviteFresh(asHelper, other, 1); err != nil {
		t.Fatalf("next hour: %v", err)
	}
}

// An invitation offering Admin counts, per target account, against the
// tenant's Admins-per-hour cap when it is created; other roles do not.
func TestInvitationsOfferingAdminAreCapped(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	setTenantLimits(t, w.env, w.ten.Tenant, tenancy.Limits{AdminsPerHour: 2})
	if _, err := w.inviteFresh(w.admin, w.ten.AccountID, 2, access.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	before := w.count(t, w.ten.Account(w.ten.AccountID).PK, "PENDING#")
	_, err := w.inviteFresh(w.admin, w.ten.AccountID, 1, access.RoleAdmin)
	wantCap(t, "the 3rd Admin of the hour", err, "tenant_hourly_cap", "adminsPerHour")
	if after := w.count(t, w.ten.Account(w.ten.AccountID).PK, "PENDING#"); after != before {
		t.Fatalf("a refused invitation was written: %d pending, want %d", after, before)
	}
	if _, err := w.inviteFresh(w.admin, w.ten.AccountID, 1, access.RoleViewer); err != nil {
		t.Fatalf("a Viewer invitation: %v", err)
	}
}
