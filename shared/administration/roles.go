package administration

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// MaxRoles bounds the roles of one membership.
const MaxRoles = 10

var roleName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _-]{0,39}$`) }) // compiled on first use, not at init

// ValidRoleName reports whether name can name a role.
func ValidRoleName(name string) bool { return roleName().MatchString(name) }

// ErrUnknownRole refuses a role the tenant does not define.
var ErrUnknownRole = apperr.Validation(apperr.FieldError{Field: "roles", Code: "unknown_role",
	Detail: "a role is Admin, Viewer or one of the tenant's custom roles"})

// RolesRequest is the body of PUT /accounts/{accountId}/users/{userId}/roles.
type RolesRequest struct {
	Roles []string `json:"roles"`
}

// SetRoles is a validated roles change.
type SetRoles struct {
	Caller    access.Caller
	AccountID string
	UserID    string
	Roles     []string // sorted, unique
	IfMatch   int64    // the membership's version
	// Associate says the route names an external member (PATCH
	// /accounts/{a}/associates/{u}): the user's own home membership is then
	// 404 not_an_associate, as that route promises.
	Associate bool
}

// ErrNotAssociate answers a route about an external member for a member of
// their home account.
var ErrNotAssociate = apperr.New(apperr.KindNotFound, "not_an_associate", "the user is not an external member of this account")

// Command validates the request.
func (r RolesRequest) Command(c access.Caller, accountID, userID string, ifMatch int64) (SetRoles, error) {
	var f apperr.Fields
	roles := CleanRoles(&f, "roles", r.Roles)
	return SetRoles{Caller: c, AccountID: accountID, UserID: userID, Roles: roles, IfMatch: ifMatch}, f.Err()
}

// CleanRoles trims, deduplicates and checks a list of one or more role names.
func CleanRoles(f *apperr.Fields, field string, in []string) []string {
	var out []string
	for _, r := range in {
		r = strings.TrimSpace(r)
		if !ValidRoleName(r) {
			f.Add(field, "invalid_role", fmt.Sprintf("%q is not a role name", r))
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	f.Check(len(in) > 0, field, "required", "give at least one role")
	f.Check(len(out) <= MaxRoles, field, "too_many", fmt.Sprintf("at most %d roles", MaxRoles))
	slices.Sort(out)
	return out
}

// roleChecks returns the transaction items proving that each custom role
// exists at commit (so a role deleted meanwhile is not granted), after
// checking them now to answer 422 naming the unknown ones.
func (s *Service) roleChecks(ctx context.Context, t table.Tenant, roles []string) ([]*store.Write, error) {
	var keys []table.Key
	for _, r := range roles {
		if !access.IsBuiltIn(r) {
			keys = append(keys, t.Role(r))
		}
	}
	if len(keys) == 0 {
		return nil, nil
	}
	got, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("read custom roles: %w", err)
	}
	var f apperr.Fields
	var checks []*store.Write
	for _, k := range keys {
		if _, ok := got[k]; !ok {
			f.Add("roles", "unknown_role", fmt.Sprintf("%q is not a role of this tenant", strings.TrimPrefix(k.SK, "ROLE#")))
		}
		checks = append(checks, store.Check(k, store.Exists()).OrFail(ErrUnknownRole))
	}
	return checks, f.Err()
}

// SetRoles replaces a member's roles (a member of the account or an
// external one: this is the one implementation of both routes), at the
// membership's version, with the change-log entry. Needs roles.manage in
// the account (Admins), and every role granted within the caller's own
// rights there (access.RequireGrant: Admin only by an Admin; never one's
// own roles; an operator's roles only by an operator); the grantor's
// rights are checked again at commit. Taking Admin from the last active
// Admin is refused (409 last_admin), also when two admins demote each
// other at the same moment. Granting Admin to someone who did not hold it
// counts against the tenant's Admins-per-hour cap, in the same transaction
// (429 tenant_hourly_cap).
func (s *Service) SetRoles(ctx context.Context, cmd SetRoles) (accounts.Membership, error) {
	return retryAdmin(func() (accounts.Membership, error) { return s.setRoles(ctx, cmd) })
}

func (s *Service) setRoles(ctx context.Context, cmd SetRoles) (accounts.Membership, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) || !ids.Valid(cmd.UserID) {
		return accounts.Membership{}, apperr.ErrNotFound
	}
	grant, err := s.Access.RequireGrant(ctx, c, access.ManageRoles, cmd.AccountID, cmd.UserID, cmd.Roles)
	if err != nil {
		return accounts.Membership{}, err
	}
	m, u, err := s.member(ctx, t, cmd.AccountID, cmd.UserID)
	if err != nil {
		return accounts.Membership{}, err
	}
	if cmd.Associate && !m.External {
		return accounts.Membership{}, ErrNotAssociate
	}
	if u.Operator && !c.Operator {
		return accounts.Membership{}, access.ErrOperatorProtected.Withf("%s is tenant support staff: only tenant operators change their roles", u.Email)
	}
	v, err := expect(cmd.IfMatch, m.Version)
	if err != nil {
		return accounts.Membership{}, err
	}
	old := slices.Sorted(slices.Values(m.Roles))
	if slices.Equal(old, cmd.Roles) {
		return m, nil
	}
	writes := grant.Checks()
	if accounts.IsActiveAdmin(m, u.Status) && !slices.Contains(cmd.Roles, access.RoleAdmin) {
		g := s.adminGuard(t)
		if err := g.Keep(ctx, m.AccountID, u.ID); err != nil {
			return accounts.Membership{}, err
		}
		writes = append(writes, g.Checks()...)
	}
	now := s.now()
	if !slices.Contains(old, access.RoleAdmin) && slices.Contains(cmd.Roles, access.RoleAdmin) {
		settings, err := tenancy.Load(ctx, s.Store, t)
		if err != nil {
			return accounts.Membership{}, err
		}
		writes = append(writes, caps.Admins.Reserve(t, settings, 1, now))
	}
	next := m
	next.Roles = cmd.Roles
	upd := next.WithAdminIndex(t, accounts.WithRoles(accounts.Edited(now), cmd.Roles))
	writes = append(writes,
		store.Update(t.Membership(m.AccountID, u.ID), upd).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict),
		changelog.New(t, s.IDs.NewID(), now, m.AccountID, changelog.ActorOf(c), "membership.roles_changed", "user", u.ID,
			map[string]any{"roles": old}, map[string]any{"roles": cmd.Roles}).Write(),
		accounts.Open(t, m.AccountID))
	if err := s.transact(ctx, "set roles of "+u.ID+" in "+m.AccountID, writes); err != nil {
		return accounts.Membership{}, err
	}
	m.Roles, m.Version, m.UpdatedAt = cmd.Roles, v+1, now
	return m, nil
}

// member reads a membership and its user (a deleted user is not a member).
func (s *Service) member(ctx context.Context, t table.Tenant, accountID, userID string) (accounts.Membership, identity.User, error) {
	items, err := s.Store.GetMany(ctx, []table.Key{t.Membership(accountID, userID), t.User(userID)})
	if err != nil {
		return accounts.Membership{}, identity.User{}, fmt.Errorf("read member %s of %s: %w", userID, accountID, err)
	}
	var m accounts.Membership
	var u identity.User
	okM, err := decode(items, t.Membership(accountID, userID), &m)
	if err != nil {
		return m, u, err
	}
	okU, err := decode(items, t.User(userID), &u)
	if err != nil {
		return m, u, err
	}
	if !okM || !okU || u.Status == identity.UserDeleted {
		return m, u, ErrNotMember
	}
	return m, u, nil
}
