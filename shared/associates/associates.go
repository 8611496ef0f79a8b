// Package associates gives users access to accounts other than their home
// account (a consultant working for several clients): an external
// membership per account, with its own roles; the user switches the
// session's active account among them. An account's Admin changes an
// associate's roles there, or removes their access, without touching the
// user's home account; a removed associate is signed out of that account on
// their next request (a session whose active account has no membership is
// refused).
//
// Invariants are conditions of one transaction each: a membership is
// created only if none exists and the user is active; a licensed seat is
// taken where the type is metered in the account (plans.TakeIn) and
// released on removal; an associate who is the account's last active Admin
// can be neither demoted nor removed (another active Admin is re-checked at
// commit); every change writes its change-log entry in the same
// transaction. Switching writes the session and an access-history entry
// together, conditioned on the membership (with a licence) and the account
// being active; a tenant operator switching into a customer account gives a
// reason, recorded in their access history and in the account's change log.
package associates

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Bounds.
const (
	MaxAccounts    = 10 // per association request (one transaction)
	MaxRoles       = 10
	MaxReasonRunes = 500
)

// Service associates users with accounts and switches sessions.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Access access.Checker
}

// New builds the service.
func New(d service.Deps) *Service {
	return &Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Access: access.Checker{Store: d.Store}}
}

// Errors of this package.
var (
	ErrAlreadyMember = apperr.New(apperr.KindConflict, "already_member", "the user is already a member of this account")
	ErrUserNotActive = apperr.New(apperr.KindConflict, "user_not_active", "only an active user can be given access")
	ErrUserChanged   = apperr.New(apperr.KindConflict, "user_changed", "the user changed meanwhile (or is no longer active); read them again and retry")
	ErrNoAccess      = apperr.New(apperr.KindForbidden, "no_account_access",
		"you have no licensed membership in this account")
	ErrAccountClosed = apperr.New(apperr.KindConflict, "account_closed", "this account is closed")
)

// AccountRoles is one account of an association and the roles there.
type AccountRoles struct {
	AccountID string   `json:"accountId"`
	Roles     []string `json:"roles"`
}

// AssociateRequest is the body of POST /users/{userId}/associations.
type AssociateRequest struct {
	Accounts []AccountRoles `json:"accounts"`
}

// AssociateCommand is a validated association.
type AssociateCommand struct {
	Caller   access.Caller
	UserID   string
	Accounts []AccountRoles
}

// Command validates the request, reporting every bad field at once.
func (r AssociateRequest) Command(c access.Caller, userID string) (AssociateCommand, error) {
	var f apperr.Fields
	f.Check(len(r.Accounts) >= 1 && len(r.Accounts) <= MaxAccounts, "accounts", "count",
		fmt.Sprintf("give 1 to %d accounts", MaxAccounts))
	seen := map[string]bool{}
	var out []AccountRoles
	for i, a := range r.Accounts {
		field := fmt.Sprintf("accounts[%d]", i)
		id := strings.TrimSpace(a.AccountID)
		f.Check(ids.Valid(id), field+".accountId", "invalid", "not an account id")
		f.Check(!seen[id], field+".accountId", "duplicate", "each account once")
		seen[id] = true
		roles, err := validRoles(a.Roles)
		if err != nil {
			f.Add(field+".roles", "invalid", err.Error())
		}
		out = append(out, AccountRoles{AccountID: id, Roles: roles})
	}
	if err := f.Err(); err != nil {
		return AssociateCommand{}, err
	}
	return AssociateCommand{Caller: c, UserID: userID, Accounts: out}, nil
}

func validRoles(raw []string) ([]string, error) {
	if len(raw) == 0 || len(raw) > MaxRoles {
		return nil, fmt.Errorf("give 1 to %d roles", MaxRoles)
	}
	var roles []string
	for _, r := range raw {
		r = strings.TrimSpace(r)
		if r == "" || len(r) > 64 || strings.Contains(r, "#") || strings.IndexFunc(r, unicode.IsControl) >= 0 {
			return nil, fmt.Errorf("%q is not a role name", r)
		}
		if !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// roleChecks prove at commit that each custom role is defined.
func roleChecks(t table.Tenant, roles []string) []*store.Write {
	var out []*store.Write
	for _, r := range roles {
		if !access.IsBuiltIn(r) {
			out = append(out, store.Check(t.Role(r), store.Exists()).
				OrFail(apperr.Validation(apperr.FieldError{Field: "roles", Code: "unknown_role", Detail: fmt.Sprintf("no role %q in this tenant", r)})))
		}
	}
	return out
}

// Associate gives an active user access to each account with its roles, as
// an external member holding the tenant's default licence, in one
// transaction: all accounts or none; each membership made as Admin counts
// against the tenant's Admins-per-hour cap in it (429 tenant_hourly_cap).
// A membership made without the user's
// consent is tenant administration (users.associate: operators only);
// an account's Admin adds an existing user by an invitation they accept.
// Nobody associates themselves: an operator enters a customer account by a
// switch with a reason, never by a membership of their own making.
func (s *Service) Associate(ctx context.Context, cmd AssociateCommand) ([]accounts.Membership, error) {
	t := cmd.Caller.Tenant
	ids := make([]string, len(cmd.Accounts))
	for i, a := range cmd.Accounts {
		ids[i] = a.AccountID
	}
	if cmd.UserID == cmd.Caller.UserID {
		return nil, access.ErrOwnRoles.Withf("nobody gives themselves access to an account: support staff switch into it with a reason")
	}
	if _, err := s.Access.RequireEach(ctx, cmd.Caller, access.AssociateUsers, ids...); err != nil {
		if errors.Is(err, access.ErrOperatorsOnly) {
			return nil, access.ErrOperatorsOnly.Withf("only tenant operators associate a user without their consent: invite them instead (they accept in their own session)")
		}
		return nil, err
	}
	var user identity.User
	ok, err := s.Store.Get(ctx, t.User(cmd.UserID), &user)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.ErrNotFound.Withf("no user %s", cmd.UserID)
	}
	if user.Status != identity.UserActive {
		return nil, ErrUserNotActive
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return nil, err
	}
	licence := settings.DefaultLicence
	if licence == "" {
		licence = tenancy.DefaultLicence
	}
	seats, err := plans.TakeIn(ctx, s.Store, t, settings.Catalogue(), settings.PurchaseURL, ids, licence)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	actor := changelog.ActorOf(cmd.Caller)
	writes := []*store.Write{identity.MembershipCopy(t, user).OrFail(ErrUserChanged)}
	writes = append(writes, seats...) // a seat in each account where the type is metered (plan, override, purchase)
	var out []accounts.Membership
	checked := map[string]bool{}
	admins := 0 // memberships made as Admin
	for _, a := range cmd.Accounts {
		if slices.Contains(a.Roles, access.RoleAdmin) {
			admins++
		}
		m := accounts.NewMembership(t, accounts.Membership{AccountID: a.AccountID, UserID: user.ID, Email: user.Email, Roles: a.Roles,
			FirstName: user.FirstName, LastName: user.LastName, Licence: licence, External: a.AccountID != user.HomeAccountID, CreatedAt: now, UpdatedAt: now})
		out = append(out, m)
		writes = append(writes, store.Put(m).If(store.NotExists()).OrFail(ErrAlreadyMember.Withf("the user is already a member of account %s", a.AccountID)))
		for _, r := range a.Roles {
			if !checked[r] {
				checked[r] = true
				writes = append(writes, roleChecks(t, []string{r})...)
			}
		}
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, a.AccountID, actor, "associate.added", "user", user.ID,
			nil, map[string]any{"roles": a.Roles, "licence": licence, "external": m.External}).Write())
	}
	if admins > 0 {
		writes = append(writes, caps.Admins.Reserve(t, settings, admins, now))
	}
	writes = append(writes, accounts.OpenEach(t, ids...)...)
	if err := s.Store.Transact(ctx, "associate user "+user.ID, writes...); err != nil {
		return nil, err
	}
	return out, nil
}

// SwitchRequest is the body of POST /me/switch-account.
type SwitchRequest struct {
	AccountID string `json:"accountId"`
	Reason    string `json:"reason,omitempty"` // required of tenant operators
}

// SwitchCommand is a validated switch.
type SwitchCommand struct {
	Caller    access.Caller
	Token     string // the bearer token of the session to re-point
	AccountID string
	Reason    string
	IP        string
	UserAgent string
}

// Command validates the request.
func (r SwitchRequest) Command(c access.Caller, token, ip, ua string) (SwitchCommand, error) {
	var f apperr.Fields
	id, reason := strings.TrimSpace(r.AccountID), strings.TrimSpace(r.Reason)
	f.Check(ids.Valid(id), "accountId", "invalid", "not an account id")
	f.Check(utf8.RuneCountInString(reason) <= MaxReasonRunes && strings.IndexFunc(reason, unicode.IsControl) < 0,
		"reason", "invalid", fmt.Sprintf("the reason is at most %d characters, on one line", MaxReasonRunes))
	f.Check(!c.Operator || reason != "", "reason", "required", "support staff say why they enter a customer account")
	if err := f.Err(); err != nil {
		return SwitchCommand{}, err
	}
	return SwitchCommand{Caller: c, Token: token, AccountID: id, Reason: reason, IP: ip, UserAgent: ua}, nil
}

// Switched is the session's new active account.
type Switched struct {
	AccountID string   `json:"accountId"`
	Roles     []string `json:"roles"`
	External  bool     `json:"external"`
}

// Switch re-points the caller's session to another account they hold a
// licensed membership in (any active account, for an operator), in one
// transaction with the access-history entry. An operator entering an account
// they hold no licensed membership in enters as support: the session keeps
// their reason, so every change they make there is logged with it, and the
// entry is recorded in the account's change log. Switching to an account they
// belong to (back home) removes the reason from the session.
func (s *Service) Switch(ctx context.Context, cmd SwitchCommand) (Switched, error) {
	c := cmd.Caller
	t, tok, err := identity.ParseToken(cmd.Token)
	if err != nil || t.ID() != c.Tenant.ID() {
		return Switched{}, apperr.ErrUnauthenticated
	}
	var m accounts.Membership
	member, err := s.Store.Get(ctx, t.Membership(cmd.AccountID, c.UserID), &m)
	if err != nil {
		return Switched{}, err
	}
	var acc accounts.Account
	ok, err := s.Store.Get(ctx, t.Account(cmd.AccountID), &acc)
	if err != nil {
		return Switched{}, err
	}
	switch {
	case !ok:
		return Switched{}, apperr.ErrNotFound.Withf("no account %s", cmd.AccountID)
	case acc.Status != accounts.StatusActive && !(c.Operator && acc.Status == accounts.StatusClosed):
		// A closed account is entered only by support staff, for a
		// read-only session (shared/access refuses every write there).
		return Switched{}, ErrAccountClosed
	case !c.Operator && (!member || m.Licence == ""):
		return Switched{}, ErrNoAccess
	}
	now := s.Clock.Now()
	entry := identity.NewAccessEntry(t, s.IDs.NewID(), c.UserID, "switch_account", cmd.AccountID, now, cmd.IP, cmd.UserAgent)
	if c.Operator {
		entry.ActorID, entry.Reason = c.UserID, cmd.Reason
	}
	licensed := member && m.Licence != ""
	var u identity.User
	if _, err := s.Store.Get(ctx, t.User(c.UserID), &u); err != nil {
		return Switched{}, err
	}
	support := access.EntersAsSupport(c.Operator, u.HomeAccountID, cmd.AccountID, licensed)
	// The account's access history names who entered, as they were, and how.
	via := identity.AccessViaMember
	switch {
	case support:
		via = identity.AccessViaSupport
	case u.HomeAccountID != cmd.AccountID:
		via = identity.AccessViaExternal
	}
	entry = entry.Of(u, via)
	writes := []*store.Write{
		identity.SwitchSession(t, tok.Hash(), c.SessionID, cmd.AccountID, support, cmd.Reason).OrFail(apperr.ErrUnauthenticated),
		store.Check(t.Account(cmd.AccountID), enterable(c.Operator)).OrFail(ErrAccountClosed),
		store.Put(entry).If(store.NotExists()),
	}
	switch {
	case !c.Operator || licensed:
		writes = append(writes, store.Check(t.Membership(cmd.AccountID, c.UserID),
			accounts.HoldsALicence()).OrFail(ErrNoAccess))
	case support:
		// The entry's actor names the support person (the caller's name and
		// email as Authorize read them) with the reason, so the customer
		// sees who entered and why.
		inAccount := c
		inAccount.AccountID, inAccount.SupportReason = cmd.AccountID, cmd.Reason
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, cmd.AccountID, changelog.ActorOf(inAccount),
			"support.entered", "account", cmd.AccountID, nil, map[string]any{"reason": cmd.Reason}).Write())
	}
	if err := s.Store.Transact(ctx, "switch session to account "+cmd.AccountID, writes...); err != nil {
		return Switched{}, err
	}
	return Switched{AccountID: cmd.AccountID, Roles: m.Roles, External: m.External}, nil
}

// enterable is the condition on the account a session switches into: an
// active one, or for tenant operators also a closed one (its data kept).
func enterable(operator bool) expression.ConditionBuilder {
	active := accounts.IsActive()
	if !operator {
		return active
	}
	return active.Or(accounts.IsClosed())
}
