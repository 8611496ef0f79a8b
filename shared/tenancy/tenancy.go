// Package tenancy holds a tenant's settings and bootstraps a tenant with its
// first account and admin.
package tenancy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Settings are a tenant's policies.
type Settings struct {
	PK             string `dynamodbav:"PK"`
	SK             string `dynamodbav:"SK"`
	Type           string `dynamodbav:"type"`
	ID             string `dynamodbav:"id"`
	Name           string `dynamodbav:"name"`
	DefaultRole    string `dynamodbav:"defaultRole"`
	DefaultLicence string `dynamodbav:"defaultLicence"`
	// TwoFactorRequired: nobody in the tenant gets a session without a
	// second factor (those without one enrol at sign-in).
	TwoFactorRequired bool `dynamodbav:"twoFactorRequired,omitempty"`
	// LicenceTypes is the tenant's catalogue of licence types; a tenant
	// stored before catalogues existed has none and gets
	// licences.DefaultCatalogue (see Catalogue).
	LicenceTypes licences.Catalogue `dynamodbav:"licenceTypes,omitempty"`
	// PurchaseURL, when set, is where an account buys more seats: a 409
	// no_free_seat links to it.
	PurchaseURL    string                  `dynamodbav:"purchaseUrl,omitempty"`
	PasswordPolicy identity.PasswordPolicy `dynamodbav:"passwordPolicy"`
	SessionHours   int                     `dynamodbav:"sessionHours"`
	// TimeZone is the IANA name of the zone people of the tenant read
	// instants in when they set none themselves (invitees, always): emails,
	// the accept page, problem details. Empty is UTC (DefaultTimeZone).
	TimeZone string `dynamodbav:"timeZone,omitempty"`
	// Limits are the tenant's throttles; zero fields take the defaults
	// (Settings.Limit).
	Limits  Limits `dynamodbav:"limits,omitempty" json:"limits"`
	Version int64  `dynamodbav:"version"`
}

// Limits are a tenant's throttles. Each zero field means its default.
type Limits struct {
	// Failed password or code checks (shared/attempts): per email and
	// client address, with back-off doubling on each lock-out; per email
	// from anywhere, much higher; per client address across emails
	// (spraying).
	PerClientFailures  int `dynamodbav:"perClientFailures,omitempty" json:"perClientFailures"`
	PerClientLockSecs  int `dynamodbav:"perClientLockSeconds,omitempty" json:"perClientLockSeconds"`
	PerEmailFailures   int `dynamodbav:"perEmailFailures,omitempty" json:"perEmailFailures"`
	PerEmailLockSecs   int `dynamodbav:"perEmailLockSeconds,omitempty" json:"perEmailLockSeconds"`
	PerAddressFailures int `dynamodbav:"perAddressFailures,omitempty" json:"perAddressFailures"`
	PerAddressLockSecs int `dynamodbav:"perAddressLockSeconds,omitempty" json:"perAddressLockSeconds"`
	// Hourly caps across the whole tenant, beside the per-inviter and
	// per-account invitation caps, so that created helpers and accounts
	// cannot multiply them.
	InvitationsPerHour int `dynamodbav:"invitationsPerHour,omitempty" json:"invitationsPerHour"`
	AccountsPerHour    int `dynamodbav:"accountsPerHour,omitempty" json:"accountsPerHour"`
	AdminsPerHour      int `dynamodbav:"adminsPerHour,omitempty" json:"adminsPerHour"`
}

// DefaultLimits are the safe defaults of every tenant.
var DefaultLimits = Limits{
	PerClientFailures: 5, PerClientLockSecs: 60, // then 2, 4, 8... minutes, at most a day
	PerEmailFailures: 50, PerEmailLockSecs: 15 * 60,
	PerAddressFailures: 50, PerAddressLockSecs: 15 * 60,
	InvitationsPerHour: 2000, AccountsPerHour: 100, AdminsPerHour: 200,
}

// Limit is the tenant's limits with every zero field at its default.
func (s Settings) Limit() Limits {
	l, d := s.Limits, DefaultLimits
	pick := func(v, def int) int {
		if v > 0 {
			return v
		}
		return def
	}
	return Limits{
		PerClientFailures: pick(l.PerClientFailures, d.PerClientFailures), PerClientLockSecs: pick(l.PerClientLockSecs, d.PerClientLockSecs),
		PerEmailFailures: pick(l.PerEmailFailures, d.PerEmailFailures), PerEmailLockSecs: pick(l.PerEmailLockSecs, d.PerEmailLockSecs),
		PerAddressFailures: pick(l.PerAddressFailures, d.PerAddressFailures), PerAddressLockSecs: pick(l.PerAddressLockSecs, d.PerAddressLockSecs),
		InvitationsPerHour: pick(l.InvitationsPerHour, d.InvitationsPerHour), AccountsPerHour: pick(l.AccountsPerHour, d.AccountsPerHour),
		AdminsPerHour: pick(l.AdminsPerHour, d.AdminsPerHour),
	}
}

// Defaults for a new tenant. New users are Admins of the accounts they
// join unless the invitation names roles (page 001: "By default, new users
// are assigned the Admin role"); the tenant's defaultRole setting changes it.
const (
	DefaultSessionHours = 12
	DefaultLicence      = "standard"
	DefaultTimeZone     = "UTC"
	DefaultRole         = access.RoleAdmin
)

// Zone is the name of the tenant's time zone, DefaultTimeZone when unset.
func (s Settings) Zone() string {
	if s.TimeZone == "" {
		return DefaultTimeZone
	}
	return s.TimeZone
}

// Catalogue is the tenant's licence types.
func (s Settings) Catalogue() licences.Catalogue {
	if len(s.LicenceTypes) == 0 {
		return licences.DefaultCatalogue(s.Licence())
	}
	return s.LicenceTypes
}

// Licence is the tenant's default licence type.
func (s Settings) Licence() string {
	if s.DefaultLicence == "" {
		return DefaultLicence
	}
	return s.DefaultLicence
}

// SessionTTL is how long a session lasts.
func (s Settings) SessionTTL() time.Duration {
	if s.SessionHours <= 0 {
		return DefaultSessionHours * time.Hour
	}
	return time.Duration(s.SessionHours) * time.Hour
}

// Load reads a tenant's settings; a tenant that was never bootstrapped is not found.
func Load(ctx context.Context, s *store.Store, t table.Tenant) (Settings, error) {
	var out Settings
	ok, err := s.Get(ctx, t.Settings(), &out)
	if err != nil {
		return Settings{}, fmt.Errorf("load tenant %s: %w", t.ID(), err)
	}
	if !ok {
		return Settings{}, apperr.ErrNotFound.Withf("no tenant %q", t.ID())
	}
	return out, nil
}

// Bootstrap describes a new tenant, its first account and that account's admin.
type Bootstrap struct {
	TenantID      string
	TenantName    string
	AccountID     string // optional; generated when empty
	AccountName   string
	AdminEmail    string
	AdminPassword string
	AdminFirst    string
	AdminLast     string
	Operator      bool // the admin is also a tenant operator (support)
}

// Created reports what Bootstrap made.
type Created struct {
	Tenant    table.Tenant
	AccountID string
	AdminID   string
	Email     string
}

// Run creates the tenant in one transaction: settings, account, admin user,
// the admin's email claim, the membership and the change-log entry. It fails
// with a conflict if the tenant exists already.
func (b Bootstrap) Run(ctx context.Context, s *store.Store, clk clock.Clock, gen ids.Generator) (Created, error) {
	t, err := table.ForTenant(b.TenantID)
	if err != nil {
		return Created{}, apperr.Validation(apperr.FieldError{Field: "tenantId", Code: "invalid", Detail: err.Error()})
	}
	email, err := identity.NormalizeEmail(b.AdminEmail)
	if err != nil {
		return Created{}, err
	}
	if err := identity.DefaultPasswordPolicy.Check("password", b.AdminPassword, email); err != nil {
		return Created{}, err
	}
	hash, err := identity.HashPassword(b.AdminPassword)
	if err != nil {
		return Created{}, apperr.Internal("hash password", err)
	}
	now := clk.Now()
	accountID := b.AccountID
	if accountID == "" {
		accountID = gen.NewID()
	}
	name := strings.TrimSpace(b.TenantName)
	if name == "" {
		name = b.TenantID
	}
	settings := Settings{ID: t.ID(), Name: name, DefaultRole: DefaultRole, DefaultLicence: DefaultLicence,
		LicenceTypes: licences.DefaultCatalogue(DefaultLicence), PasswordPolicy: identity.DefaultPasswordPolicy, SessionHours: DefaultSessionHours,
		TimeZone: DefaultTimeZone, Version: 1, Type: "TENANT"}
	k := t.Settings()
	settings.PK, settings.SK = k.PK, k.SK
	account := accounts.NewAccount(t, accounts.Account{ID: accountID, Name: b.AccountName, CreatedAt: now, UpdatedAt: now})
	admin := identity.NewUser(t, identity.User{ID: gen.NewID(), Email: email, FirstName: b.AdminFirst, LastName: b.AdminLast,
		PasswordHash: hash, Status: identity.UserActive, Operator: b.Operator, HomeAccountID: accountID, CreatedAt: now, UpdatedAt: now})
	member := accounts.NewMembership(t, accounts.Membership{AccountID: accountID, UserID: admin.ID, Email: email,
		FirstName: admin.FirstName, LastName: admin.LastName, Roles: []string{access.RoleAdmin}, Licence: DefaultLicence, CreatedAt: now, UpdatedAt: now})
	entry := changelog.New(t, gen.NewID(), now, accountID, changelog.System("bootstrap"), "tenant.bootstrapped", "user", admin.ID,
		nil, map[string]any{"email": email, "roles": member.Roles, "account": b.AccountName})
	err = s.Transact(ctx, "bootstrap tenant "+t.ID(),
		store.Put(settings).If(store.NotExists()).OrFail(apperr.New(apperr.KindConflict, "tenant_exists", "this tenant exists already")),
		store.Put(account).If(store.NotExists()),
		store.Put(admin).If(store.NotExists()),
		store.Put(identity.NewEmailClaim(t, email, admin.ID)).If(store.NotExists()).OrFail(apperr.ErrEmailTaken),
		store.Put(member).If(store.NotExists()),
		entry.Write(),
	)
	if err != nil {
		return Created{}, err
	}
	return Created{Tenant: t, AccountID: accountID, AdminID: admin.ID, Email: email}, nil
}

// CatalogueView is the tenant's licence types as the API shows them.
type CatalogueView struct {
	Types          licences.Catalogue `json:"types"`
	DefaultLicence string             `json:"defaultLicence"`
	PurchaseURL    string             `json:"purchaseUrl,omitempty"`
	Version        int64              `json:"version"` // the settings' version, for If-Match
}

// CatalogueOf shows the tenant's licence types.
func (s Settings) CatalogueOf() CatalogueView {
	return CatalogueView{Types: s.Catalogue(), DefaultLicence: s.Licence(), PurchaseURL: s.PurchaseURL, Version: s.Version}
}

// SettingsChange is a change of the tenant's settings: each field set is
// written, the others stay.
type SettingsChange struct {
	DefaultRole       *string
	DefaultLicence    *string
	PasswordPolicy    *identity.PasswordPolicy
	Limits            *Limits
	TimeZone          *string
	PurchaseURL       *string // "" removes it
	TwoFactorRequired *bool
}

// Write is the update of the settings with the change, at version v (the
// version read, or the caller's If-Match), so concurrent edits never
// overwrite each other.
func (c SettingsChange) Write(t table.Tenant, v int64) *store.Write {
	upd := store.BumpVersion()
	if c.DefaultRole != nil {
		upd = upd.Set(expression.Name("defaultRole"), expression.Value(*c.DefaultRole))
	}
	if c.DefaultLicence != nil {
		upd = upd.Set(expression.Name("defaultLicence"), expression.Value(*c.DefaultLicence))
	}
	if c.PasswordPolicy != nil {
		upd = upd.Set(expression.Name("passwordPolicy"), expression.Value(*c.PasswordPolicy))
	}
	if c.Limits != nil {
		upd = upd.Set(expression.Name("limits"), expression.Value(*c.Limits))
	}
	if c.TimeZone != nil {
		upd = upd.Set(expression.Name("timeZone"), expression.Value(*c.TimeZone))
	}
	if c.PurchaseURL != nil {
		if *c.PurchaseURL == "" {
			upd = upd.Remove(expression.Name("purchaseUrl"))
		} else {
			upd = upd.Set(expression.Name("purchaseUrl"), expression.Value(*c.PurchaseURL))
		}
	}
	if c.TwoFactorRequired != nil {
		upd = upd.Set(expression.Name("twoFactorRequired"), expression.Value(*c.TwoFactorRequired))
	}
	return store.Update(t.Settings(), upd).If(store.AtVersion(v))
}

// SetCatalogue replaces the tenant's licence-type catalogue, at version v:
// the default licence, on the same item, is checked by the same condition.
func SetCatalogue(t table.Tenant, v int64, cat licences.Catalogue) *store.Write {
	upd := store.BumpVersion().Set(expression.Name("licenceTypes"), expression.Value(cat))
	return store.Update(t.Settings(), upd).If(store.AtVersion(v))
}

// NotDefaultRole checks that role is not the tenant's default role (which
// must stay defined).
func NotDefaultRole(t table.Tenant, role string) *store.Write {
	return store.Check(t.Settings(), expression.Name("defaultRole").NotEqual(expression.Value(role)))
}
