package administration

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

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

// CreateAccountRequest is the body of POST /accounts.
type CreateAccountRequest struct {
	Name string `json:"name"`
	// AdminUserID names the new account's first Admin; only operators may
	// name someone else than themselves. Default: the caller.
	AdminUserID string `json:"adminUserId,omitempty"`
}

// CreateAccount is a validated request.
type CreateAccount struct {
	Caller      access.Caller
	Name        string
	AdminUserID string
}

// Command validates the request.
func (r CreateAccountRequest) Command(c access.Caller) (CreateAccount, error) {
	var f apperr.Fields
	name := ValidName(&f, "name", r.Name, accounts.MaxNameLength)
	admin := strings.TrimSpace(r.AdminUserID)
	f.Check(admin == "" || ids.Valid(admin), "adminUserId", "invalid", "not a user id")
	if admin == "" {
		admin = c.UserID
	}
	return CreateAccount{Caller: c, Name: name, AdminUserID: admin}, f.Err()
}

// CreateAccount creates an account whose first Admin is the caller (or,
// for an operator, the user they name): account, membership (Admin, the
// tenant's default licence) and change-log entry in one transaction, which
// also checks that the admin is an active user. Creating accounts is
// billing: tenant operators do it, and members of the caller's active
// account whose custom role holds accounts.create (operators define such
// roles); the built-in Admin does not hold it. The account counts against
// the tenant's accounts-per-hour cap and its first Admin against the
// Admins-per-hour cap, in the same transaction (429 tenant_hourly_cap,
// nothing written, operators included). The membership copies the
// Admin's email and name on the condition that they are unchanged
// (identity.MembershipCopy), not that the Admin's user is at the version
// read: concurrent creations for one Admin all succeed, and a profile edit
// committed meanwhile makes it read the Admin again and copy the new name
// (a bounded number of times, then 503 unavailable; never a 409 to a
// caller who holds no ETag of the Admin).
func (s *Service) CreateAccount(ctx context.Context, cmd CreateAccount) (accounts.Account, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if err := c.ScopeRefusal(access.CreateAccounts); err != nil {
		return accounts.Account{}, err
	}
	if !c.Operator {
		if err := s.Access.Require(ctx, c, access.CreateAccounts, c.AccountID); err != nil {
			if errors.Is(err, apperr.ErrForbidden) {
				return accounts.Account{}, apperr.ErrForbidden.Withf("accounts are created through the tenant's billing: ask a tenant operator")
			}
			return accounts.Account{}, fmt.Errorf("create account: %w", err)
		}
		if cmd.AdminUserID != c.UserID {
			return accounts.Account{}, apperr.ErrForbidden.Withf("only tenant operators may make someone else the first Admin")
		}
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return accounts.Account{}, err
	}
	licence := settings.DefaultLicence
	if licence == "" {
		licence = tenancy.DefaultLicence
	}
	accountID, entryID := s.IDs.NewID(), s.IDs.NewID()
	for attempt := 1; ; attempt++ {
		admin, err := identity.LoadUser(ctx, s.Store, t, cmd.AdminUserID)
		if err != nil {
			return accounts.Account{}, err
		}
		if admin.Status != identity.UserActive {
			return accounts.Account{}, apperr.New(apperr.KindConflict, "admin_not_active", "the first Admin must be an active user")
		}
		now := s.now()
		a := accounts.NewAccount(t, accounts.Account{ID: accountID, Name: cmd.Name, CreatedAt: now, UpdatedAt: now})
		m := accounts.NewMembership(t, accounts.Membership{AccountID: a.ID, UserID: admin.ID, Email: admin.Email,
			FirstName: admin.FirstName, LastName: admin.LastName, Roles: []string{access.RoleAdmin}, Licence: licence, External: admin.HomeAccountID != "", CreatedAt: now, UpdatedAt: now})
		entry := changelog.New(t, entryID, now, a.ID, changelog.ActorOf(c), "account.created", "account", a.ID, nil,
			map[string]any{"name": a.Name, "admin": admin.ID})
		err = s.transact(ctx, "create account", []*store.Write{
			store.Put(a).If(store.NotExists()),
			store.Put(m).If(store.NotExists()),
			identity.MembershipCopy(t, admin).OrFail(errAdminEdited),
			entry.Write(),
			caps.Accounts.Reserve(t, settings, 1, now),
			caps.Admins.Reserve(t, settings, 1, now),
		})
		switch {
		case err == nil:
			return a, nil
		case !errors.Is(err, errAdminEdited):
			return accounts.Account{}, err
		case attempt == maxCopyAttempts:
			// The caller sent no ETag of the admin: their edit racing is not
			// the caller's conflict to resolve, so this is only "busy".
			return accounts.Account{}, fmt.Errorf("create account: the first Admin %s kept changing: %w", admin.ID, apperr.ErrUnavailable)
		}
	}
}

// errAdminEdited is a first Admin's email, name or status changing between
// the read and the creation's transaction: CreateAccount reads them again
// and copies the new values (at most maxCopyAttempts times).
var errAdminEdited = apperr.New(apperr.KindConflict, "admin_edited", "the first Admin's profile changed meanwhile")

// maxCopyAttempts bounds CreateAccount's re-reads of a first Admin whose
// profile keeps changing.
const maxCopyAttempts = 5

// RenameAccount is a validated PATCH /accounts/{accountId}.
type RenameAccount struct {
	Caller    access.Caller
	AccountID string
	Name      string // "" keeps the name
	// TwoFactorRequired, when set, turns the account's required second
	// factor on or off.
	TwoFactorRequired *bool
	IfMatch           int64
}

// RenameAccountRequest is the body of PATCH /accounts/{id}: a new name,
// whether a second factor is required, or both.
type RenameAccountRequest struct {
	Name              *string `json:"name,omitempty"`
	TwoFactorRequired *bool   `json:"twoFactorRequired,omitempty"`
}

// Command validates the request.
func (r RenameAccountRequest) Command(c access.Caller, accountID string, ifMatch int64) (RenameAccount, error) {
	var f apperr.Fields
	cmd := RenameAccount{Caller: c, AccountID: accountID, TwoFactorRequired: r.TwoFactorRequired, IfMatch: ifMatch}
	if r.Name != nil || r.TwoFactorRequired == nil {
		var name string
		if r.Name != nil {
			name = *r.Name
		}
		cmd.Name = ValidName(&f, "name", name, accounts.MaxNameLength)
	}
	return cmd, f.Err()
}

// RenameAccount changes an account's name (and its place in the directory)
// and whether it requires a second factor, at the version read (the
// If-Match), with a change-log entry for each change.
func (s *Service) RenameAccount(ctx context.Context, cmd RenameAccount) (accounts.Account, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if !ids.Valid(cmd.AccountID) {
		return accounts.Account{}, apperr.ErrNotFound.Withf("no account %q", cmd.AccountID)
	}
	if err := s.Access.Require(ctx, c, access.EditAccount, cmd.AccountID); err != nil {
		return accounts.Account{}, err
	}
	a, err := accounts.Load(ctx, s.Store, t, cmd.AccountID)
	if err != nil {
		return accounts.Account{}, err
	}
	v, err := expect(cmd.IfMatch, a.Version)
	if err != nil {
		return accounts.Account{}, err
	}
	rename := cmd.Name != "" && cmd.Name != a.Name
	require := cmd.TwoFactorRequired != nil && *cmd.TwoFactorRequired != a.TwoFactorRequired
	if !rename && !require {
		return a, nil
	}
	now := s.now()
	upd := accounts.Edited(now)
	var entries []*store.Write
	if rename {
		byName := t.AccountsByName(strings.ToLower(cmd.Name), a.ID)
		upd = accounts.WithName(upd, cmd.Name).
			Set(expression.Name(table.AttrGSI2SK), expression.Value(byName.SK))
		entries = append(entries, changelog.New(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.renamed", "account", a.ID,
			map[string]any{"name": a.Name}, map[string]any{"name": cmd.Name}).Write())
		a.Name, a.GSI2SK = cmd.Name, byName.SK
	}
	if require {
		upd = accounts.WithTwoFactorRequired(upd, *cmd.TwoFactorRequired)
		entries = append(entries, changelog.New(t, s.IDs.NewID(), now, a.ID, changelog.ActorOf(c), "account.two_factor_required", "account", a.ID,
			map[string]any{"twoFactorRequired": a.TwoFactorRequired}, map[string]any{"twoFactorRequired": *cmd.TwoFactorRequired}).Write())
		a.TwoFactorRequired = *cmd.TwoFactorRequired
	}
	err = s.transact(ctx, "edit account "+a.ID, append([]*store.Write{
		store.Update(t.Account(a.ID), upd).If(store.AtVersion(v)).OrFail(apperr.ErrVersionConflict),
		accounts.Open(t, a.ID), // folded into the update above: a close meanwhile is told apart below
	}, entries...))
	if err != nil {
		return accounts.Account{}, accounts.ClosedMeanwhile(ctx, s.Store, t, a.ID, err)
	}
	a.UpdatedAt, a.Version = now, v+1
	return a, nil
}
