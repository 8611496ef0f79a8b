package administration

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Tenant-wide settings (custom roles, the default role and licence, the
// password policy) apply to every account of the tenant, so only tenant
// operators change them. Their change-log entries go to the operator's
// active account.

var errOperatorsOnly = access.ErrOperatorsOnly.Withf("only tenant operators may change tenant-wide settings")

// tenantWork is the decision of a change to the tenant's settings:
// operators only, and a tenant key scoped to tenant.manage.
func tenantWork(c access.Caller) error {
	if !c.Operator {
		return errOperatorsOnly
	}
	return access.RequireOperator(c, access.ManageTenant)
}

// RoleRequest is the body of PUT /roles/{roleName}.
type RoleRequest struct {
	Permissions []access.Action `json:"permissions"`
}

// PutRole is a validated custom role definition.
type PutRole struct {
	Caller      access.Caller
	Name        string
	Permissions []access.Action
	IfMatch     int64
}

// Command validates the request.
func (r RoleRequest) Command(c access.Caller, name string, ifMatch int64) (PutRole, error) {
	var f apperr.Fields
	name = strings.TrimSpace(name)
	f.Check(ValidRoleName(name), "roleName", "invalid_role", "a role name is letters, digits, spaces, '-' or '_', at most 40")
	f.Check(!access.IsBuiltIn(name), "roleName", "built_in", "Admin and Viewer are built in and cannot be redefined")
	var perms []access.Action
	for _, p := range r.Permissions {
		if !slices.Contains(access.AllActions, p) {
			f.Add("permissions", "unknown_permission", fmt.Sprintf("%q is not a permission", p))
		} else if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	f.Check(len(r.Permissions) > 0, "permissions", "required", "give at least one permission")
	slices.Sort(perms)
	return PutRole{Caller: c, Name: name, Permissions: perms, IfMatch: ifMatch}, f.Err()
}

// PutRole creates or redefines a custom role (at its version, when it
// exists).
func (s *Service) PutRole(ctx context.Context, cmd PutRole) (access.CustomRole, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := tenantWork(c); err != nil {
		return access.CustomRole{}, err
	}
	k := t.Role(cmd.Name)
	var old access.CustomRole
	exists, err := s.Store.Get(ctx, k, &old)
	if err != nil {
		return access.CustomRole{}, err
	}
	role := access.CustomRole{PK: k.PK, SK: k.SK, Type: "ROLE", Name: cmd.Name, Permissions: cmd.Permissions, Version: 1}
	put := store.Put(role).If(store.NotExists()).OrFail(apperr.ErrVersionConflict)
	var before map[string]any
	if exists {
		v, err := expect(cmd.IfMatch, old.Version)
		if err != nil {
			return access.CustomRole{}, err
		}
		role.Version = v + 1
		put = store.Put(role).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict)
		before = map[string]any{"permissions": old.Permissions}
	} else if cmd.IfMatch != 0 {
		return access.CustomRole{}, apperr.ErrVersionConflict
	}
	entry := changelog.New(t, s.IDs.NewID(), s.now(), c.AccountID, changelog.ActorOf(c), "role.defined", "role", cmd.Name,
		before, map[string]any{"permissions": cmd.Permissions})
	if err := s.transact(ctx, "define role "+cmd.Name, []*store.Write{put, entry.Write()}); err != nil {
		return access.CustomRole{}, err
	}
	return role, nil
}

// DeleteRole removes a custom role, unless it is the tenant's default role.
// Members who held it keep its name but no longer get its permissions.
func (s *Service) DeleteRole(ctx context.Context, c access.Caller, name string) error {
	t := c.Tenant
	if err := tenantWork(c); err != nil {
		return err
	}
	if !ValidRoleName(name) || access.IsBuiltIn(name) {
		return apperr.ErrNotFound.Withf("no custom role %q", name)
	}
	entry := changelog.New(t, s.IDs.NewID(), s.now(), c.AccountID, changelog.ActorOf(c), "role.deleted", "role", name, nil, nil)
	return s.transact(ctx, "delete role "+name, []*store.Write{
		store.Delete(t.Role(name)).If(store.Exists()).OrFail(apperr.ErrNotFound.Withf("no custom role %q", name)),
		tenancy.NotDefaultRole(t, name).
			OrFail(apperr.New(apperr.KindConflict, "default_role", "this is the tenant's default role: choose another default first")),
		entry.Write(),
	})
}

// SettingsRequest is the body of PATCH /tenant/settings; absent fields stay.
type SettingsRequest struct {
	DefaultRole    *string                  `json:"defaultRole,omitempty"`
	DefaultLicence *string                  `json:"defaultLicence,omitempty"`
	PasswordPolicy *identity.PasswordPolicy `json:"passwordPolicy,omitempty"`
	// Limits replaces the tenant's throttles; a field left 0 is its default.
	Limits *tenancy.Limits `json:"limits,omitempty"`
	// TimeZone is the tenant's default time zone (an IANA name such as
	// Europe/Paris): people who set none read instants in it.
	TimeZone *string `json:"timeZone,omitempty"`
	// PurchaseURL is where a 409 no_free_seat sends people to buy seats
	// (an https URL; "" removes it).
	PurchaseURL *string `json:"purchaseUrl,omitempty"`
	// TwoFactorRequired: nobody in the tenant gets a session without a
	// second factor (those without one enrol at sign-in).
	TwoFactorRequired *bool `json:"twoFactorRequired,omitempty"`
}

// UpdateSettings is a validated settings change.
type UpdateSettings struct {
	Caller         access.Caller
	DefaultRole    *string
	DefaultLicence *string
	PasswordPolicy *identity.PasswordPolicy
	Limits         *tenancy.Limits
	TimeZone       *string
	PurchaseURL    *string
	// TwoFactorRequired, when set, turns required second factors on or off.
	TwoFactorRequired *bool
	IfMatch           int64
}

// Password policy bounds: never below 8 characters, and never so long that
// 64 characters would not do (every policy must allow at least 64).
const (
	MinPolicyLength = 8
	MaxPolicyLength = 64
)

// Command validates the request.
func (r SettingsRequest) Command(c access.Caller, ifMatch int64) (UpdateSettings, error) {
	var f apperr.Fields
	cmd := UpdateSettings{Caller: c, DefaultLicence: r.DefaultLicence, PasswordPolicy: r.PasswordPolicy, Limits: r.Limits,
		TwoFactorRequired: r.TwoFactorRequired, IfMatch: ifMatch}
	if l := r.Limits; l != nil {
		for _, b := range []struct {
			field     string
			v, lo, hi int
		}{
			{"perClientFailures", l.PerClientFailures, 1, 100}, {"perClientLockSeconds", l.PerClientLockSecs, 1, 86400},
			{"perEmailFailures", l.PerEmailFailures, 1, 10000}, {"perEmailLockSeconds", l.PerEmailLockSecs, 1, 86400},
			{"perAddressFailures", l.PerAddressFailures, 1, 100000}, {"perAddressLockSeconds", l.PerAddressLockSecs, 1, 86400},
			{"invitationsPerHour", l.InvitationsPerHour, 1, 1000000}, {"accountsPerHour", l.AccountsPerHour, 1, 1000000},
			{"adminsPerHour", l.AdminsPerHour, 1, 1000000},
		} {
			f.Check(b.v == 0 || b.v >= b.lo && b.v <= b.hi, "limits."+b.field, "out_of_range",
				fmt.Sprintf("%s is 0 (the default) or from %d to %d", b.field, b.lo, b.hi))
		}
	}
	if r.DefaultRole != nil {
		v := strings.TrimSpace(*r.DefaultRole)
		f.Check(ValidRoleName(v), "defaultRole", "invalid_role", "not a role name")
		cmd.DefaultRole = &v
	}
	if r.DefaultLicence != nil {
		f.Check(licences.ValidType(*r.DefaultLicence), "defaultLicence", "invalid_licence", "a licence type is lower-case letters, digits, '-' or '_'")
	}
	if r.TimeZone != nil {
		v := strings.TrimSpace(*r.TimeZone)
		f.Check(ValidTimeZone(v), "timeZone", "invalid_time_zone", "the time zone must be an IANA name such as Europe/Paris or UTC")
		cmd.TimeZone = &v
	}
	if p := r.PasswordPolicy; p != nil {
		f.Check(p.MinLength >= MinPolicyLength && p.MinLength <= MaxPolicyLength, "passwordPolicy.minLength", "out_of_range",
			fmt.Sprintf("the minimum length is from %d to %d", MinPolicyLength, MaxPolicyLength))
	}
	if r.PurchaseURL != nil {
		v, err := checkPurchaseURL(*r.PurchaseURL)
		if e, ok := apperr.As(err); ok {
			f = append(f, e.Fields...)
		}
		cmd.PurchaseURL = &v
	}
	f.Check(r.DefaultRole != nil || r.DefaultLicence != nil || r.PasswordPolicy != nil || r.Limits != nil || r.TimeZone != nil || r.PurchaseURL != nil ||
		r.TwoFactorRequired != nil,
		"(body)", "nothing_to_change", "give at least one of defaultRole, defaultLicence, passwordPolicy, limits, timeZone, purchaseUrl, twoFactorRequired")
	return cmd, f.Err()
}

// UpdateSettings changes the tenant's settings at their version.
func (s *Service) UpdateSettings(ctx context.Context, cmd UpdateSettings) (tenancy.Settings, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := tenantWork(c); err != nil {
		return tenancy.Settings{}, err
	}
	cur, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return tenancy.Settings{}, err
	}
	v, err := expect(cmd.IfMatch, cur.Version)
	if err != nil {
		return tenancy.Settings{}, err
	}
	before, after := map[string]any{}, map[string]any{}
	var writes []*store.Write
	if cmd.DefaultRole != nil {
		before["defaultRole"], after["defaultRole"] = cur.DefaultRole, *cmd.DefaultRole
		checks, err := s.roleChecks(ctx, t, []string{*cmd.DefaultRole})
		if err != nil {
			return tenancy.Settings{}, err
		}
		writes = append(writes, checks...)
		cur.DefaultRole = *cmd.DefaultRole
	}
	if cmd.DefaultLicence != nil {
		if err := cur.Catalogue().Check("defaultLicence", *cmd.DefaultLicence); err != nil {
			return tenancy.Settings{}, err // a type of the catalogue, not retired
		}
		before["defaultLicence"], after["defaultLicence"] = cur.DefaultLicence, *cmd.DefaultLicence
		cur.DefaultLicence = *cmd.DefaultLicence
	}
	if cmd.PasswordPolicy != nil {
		before["passwordPolicy"], after["passwordPolicy"] = cur.PasswordPolicy, *cmd.PasswordPolicy
		cur.PasswordPolicy = *cmd.PasswordPolicy
	}
	if cmd.Limits != nil {
		before["limits"], after["limits"] = cur.Limit(), tenancy.Settings{Limits: *cmd.Limits}.Limit()
		cur.Limits = *cmd.Limits
	}
	if cmd.TimeZone != nil {
		before["timeZone"], after["timeZone"] = cur.Zone(), *cmd.TimeZone
		cur.TimeZone = *cmd.TimeZone
	}
	if cmd.PurchaseURL != nil {
		before["purchaseUrl"], after["purchaseUrl"] = cur.PurchaseURL, *cmd.PurchaseURL
		cur.PurchaseURL = *cmd.PurchaseURL
	}
	if cmd.TwoFactorRequired != nil {
		before["twoFactorRequired"], after["twoFactorRequired"] = cur.TwoFactorRequired, *cmd.TwoFactorRequired
		cur.TwoFactorRequired = *cmd.TwoFactorRequired
	}
	writes = append(writes,
		tenancy.SettingsChange{DefaultRole: cmd.DefaultRole, DefaultLicence: cmd.DefaultLicence, PasswordPolicy: cmd.PasswordPolicy, Limits: cmd.Limits,
			TimeZone: cmd.TimeZone, PurchaseURL: cmd.PurchaseURL, TwoFactorRequired: cmd.TwoFactorRequired}.Write(t, v).OrFail(apperr.ErrVersionConflict),
		changelog.New(t, s.IDs.NewID(), s.now(), c.AccountID, changelog.ActorOf(c), "tenant.settings_changed", "tenant", t.ID(), before, after).Write())
	if err := s.transact(ctx, "update tenant settings", writes); err != nil {
		return tenancy.Settings{}, err
	}
	cur.Version = v + 1
	return cur, nil
}
