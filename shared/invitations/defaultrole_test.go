package invitations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// An invitation that names no roles offers the tenant's default role: Admin
// for a new tenant (page 001), whatever operators set it to afterwards.
// A caller who cannot grant the default is told so, and what to do.
func TestAnInvitationWithoutRolesOffersTheDefaultRole(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	settings, err := tenancy.Load(ctx, w.env.Store, w.ten.Tenant)
	if err != nil || settings.DefaultRole != access.RoleAdmin {
		t.Fatalf("a new tenant's default role: %q %v", settings.DefaultRole, err)
	}
	offered := func(caller access.Caller) ([]string, error) {
		r, err := w.inviteAs(caller, address("default"))
		if err != nil {
			return nil, err
		}
		if r.Result != invitations.ResultCreated {
			t.Fatalf("invite: %+v", r)
		}
		return w.invitation(t, r.InvitationID).Roles, nil
	}
	if roles, err := offered(w.admin); err != nil || strings.Join(roles, ",") != access.RoleAdmin {
		t.Fatalf("an Admin's invitation without roles offers %v (%v), want Admin", roles, err)
	}

	// A caller holding only users.invite cannot grant Admin: 403, same code
	// as any grant above their rights, a detail that names the default and
	// says to name a role; nothing is written. Naming Viewer works.
	w.putRole(t, "Recruiter", access.InviteUsers)
	recruiter := w.env.AddUser(t, w.ten, w.ten.AccountID, address("recruiter"), "", "Recruiter")
	asRecruiter := callerOf(w.ten, recruiter.ID, w.ten.AccountID, "Recruiter")
	before := w.count(t, w.ten.Account(w.ten.AccountID).PK, "INVITE#")
	_, err = w.inviteAs(asRecruiter, address("refused"))
	e, _ := apperr.As(err)
	if e == nil || e.Kind != apperr.KindForbidden || e.Code != access.ErrGrantExceeds.Code || e.Extra["defaultRole"] != access.RoleAdmin ||
		!strings.Contains(e.Detail, "the tenant's default role, Admin") || !strings.Contains(e.Detail, "name in roles a role you can grant") {
		t.Fatalf("a recruiter inviting without roles: %v %+v", err, e)
	}
	if after := w.count(t, w.ten.Account(w.ten.AccountID).PK, "INVITE#"); after != before {
		t.Fatalf("a refused invite wrote %d invitations", after-before)
	}
	_, err = w.inviteAs(asRecruiter, address("admin-named"), access.RoleAdmin)
	if e, _ := apperr.As(err); e == nil || e.Code != access.ErrGrantExceeds.Code || e.Extra["defaultRole"] != nil {
		t.Fatalf("naming Admin is refused as any grant, not as the default: %v", err)
	}
	if r, err := w.inviteAs(asRecruiter, address("viewer-named"), access.RoleViewer); err != nil || r.Result != invitations.ResultCreated {
		t.Fatalf("a recruiter naming Viewer: %+v %v", r, err)
	}

	// Operators change the default (PATCH /tenant/settings): from then on an
	// invitation without roles offers Viewer, which the recruiter may grant.
	op := w.operatorCaller(t)
	viewer := access.RoleViewer
	cmd, err := administration.SettingsRequest{DefaultRole: &viewer}.Command(op, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := administration.New(w.env.Service()).UpdateSettings(ctx, cmd); err != nil {
		t.Fatalf("set the default role: %v", err)
	}
	for name, c := range map[string]access.Caller{"Admin": w.admin, "recruiter": asRecruiter} {
		if roles, err := offered(c); err != nil || strings.Join(roles, ",") != access.RoleViewer {
			t.Fatalf("%s's invitation without roles after the change offers %v (%v), want Viewer", name, roles, err)
		}
	}
}

// operatorCaller adds a tenant operator and returns them as a caller.
func (w *world) operatorCaller(t testing.TB) access.Caller {
	t.Helper()
	now := w.env.Clock.Now()
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: address("operator"), FirstName: "Sam", LastName: "Support",
		Status: identity.UserActive, Operator: true, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add operator", store.Put(u),
		store.Put(identity.NewEmailClaim(w.ten.Tenant, u.Email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	c := callerOf(w.ten, u.ID, w.ten.AccountID)
	c.Operator = true
	return c
}
