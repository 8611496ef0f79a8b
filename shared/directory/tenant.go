package directory

import (
	"context"
	"fmt"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// RoleView is a role and what it permits.
type RoleView struct {
	Name        string          `json:"name"`
	BuiltIn     bool            `json:"builtIn"`
	Permissions []access.Action `json:"permissions"`
	Version     int64           `json:"version,omitempty"`
}

// RoleList is the tenant's roles and its default role for new members.
type RoleList struct {
	Roles       []RoleView `json:"roles"`
	DefaultRole string     `json:"defaultRole"`
}

// builtInPermissions are what Admin and Viewer permit (access' own table).
var builtInPermissions = map[string][]access.Action{}

func init() {
	for _, role := range []string{access.RoleAdmin, access.RoleViewer} {
		for _, a := range access.AllActions {
			if access.Allowed([]string{role}, nil, a) {
				builtInPermissions[role] = append(builtInPermissions[role], a)
			}
		}
	}
}

// Roles lists the built-in and custom roles (one Query on the tenant's
// partition) for every signed-in member of the tenant.
func (d *Directory) Roles(ctx context.Context, caller access.Caller) (RoleList, error) {
	t := caller.Tenant
	settings, err := tenancy.Load(ctx, d.Store, t)
	if err != nil {
		return RoleList{}, err
	}
	items, err := d.Store.QueryAll(ctx, store.Query{Partition: t.Settings().PK, SKPrefix: "ROLE#"}, 500)
	if err != nil {
		return RoleList{}, fmt.Errorf("list roles: %w", err)
	}
	custom, err := decodeAll[access.CustomRole](items)
	if err != nil {
		return RoleList{}, err
	}
	out := RoleList{DefaultRole: settings.DefaultRole}
	for _, r := range []string{access.RoleAdmin, access.RoleViewer} {
		out.Roles = append(out.Roles, RoleView{Name: r, BuiltIn: true, Permissions: builtInPermissions[r]})
	}
	for _, r := range custom {
		out.Roles = append(out.Roles, RoleView{Name: r.Name, Permissions: r.Permissions, Version: r.Version})
	}
	return out, nil
}

// SettingsView is the tenant's settings as the API shows them.
type SettingsView struct {
	DefaultRole    string                  `json:"defaultRole"`
	DefaultLicence string                  `json:"defaultLicence"`
	PasswordPolicy identity.PasswordPolicy `json:"passwordPolicy"`
	SessionHours   int                     `json:"sessionHours"`
	Limits         tenancy.Limits          `json:"limits"` // effective: defaults filled in
	Version        int64                   `json:"version"`
	// TimeZone: the default zone of people who set none (UTC unless set).
	TimeZone string `json:"timeZone"`
	// PurchaseURL: where a 409 no_free_seat sends people to buy seats.
	PurchaseURL string `json:"purchaseUrl,omitempty"`
	// TwoFactorRequired: nobody in the tenant signs in without a second factor.
	TwoFactorRequired bool `json:"twoFactorRequired"`
}

// SettingsViewOf shows settings.
func SettingsViewOf(s tenancy.Settings) SettingsView {
	return SettingsView{DefaultRole: s.DefaultRole, DefaultLicence: s.DefaultLicence, PasswordPolicy: s.PasswordPolicy,
		SessionHours: int(s.SessionTTL().Hours()), Limits: s.Limit(), Version: s.Version,
		TimeZone: s.Zone(), PurchaseURL: s.PurchaseURL, TwoFactorRequired: s.TwoFactorRequired}
}

// Settings reads the tenant's settings; every signed-in member may (a
// password form needs the policy).
func (d *Directory) Settings(ctx context.Context, caller access.Caller) (SettingsView, error) {
	s, err := tenancy.Load(ctx, d.Store, caller.Tenant)
	if err != nil {
		return SettingsView{}, err
	}
	return SettingsViewOf(s), nil
}

// PlanList is the tenant's plans.
type PlanList struct {
	Plans []plans.Plan `json:"plans"`
}

// Plans lists the tenant's plans, for every signed-in member of the tenant.
func (d *Directory) Plans(ctx context.Context, caller access.Caller) (PlanList, error) {
	ps, err := plans.List(ctx, d.Store, caller.Tenant)
	if err != nil {
		return PlanList{}, err
	}
	return PlanList{Plans: ps}, nil
}
