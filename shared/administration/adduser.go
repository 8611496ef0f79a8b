package administration

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
)

// A user added by an administrator without an invitation (page 003: "You
// can cancel the email invitation option… In this case, the user password
// can be managed by the administrator"): POST /accounts/{a}/users creates
// the user at once, active, with a membership of the account (their home),
// the roles and the licence type given, and a password the administrator
// sets or one generated and emailed to the user. Nobody proved the address
// yet: the user is marked EmailUnverified, proves it by a code at their
// first sign-in (shared/auth) and cannot invite anyone before that. The
// administrator manages the password afterwards (PUT /users/{id}/password).
//
// The rules are those of an invitation that is accepted at once: the caller
// needs users.invite in the account and grants only roles within their own
// rights (access.Checker.RequireGrant; Admin only as an Admin, operators
// only switched in); the caller re-enters their own password, checked by
// the limiter of every password check (verify), whichever way the password
// is chosen, since either way the caller decides who can sign in. One
// transaction writes the user, the email claim (attribute_not_exists: 409
// email_taken), the membership, the seat where the account has a pool of
// the licence type (plans.TakeIn: a seat of the plan, override or purchase, else a check that no pool appeared),
// the grant's checks, the tenant's Admins-per-hour cap when Admin is given,
// the limiter's reset and the change-log entry; a refusal writes none of it.

// AddUserRequest is the body of POST /accounts/{accountId}/users.
type AddUserRequest struct {
	Email     string   `json:"email"`
	FirstName string   `json:"firstName"`
	LastName  string   `json:"lastName"`
	Roles     []string `json:"roles,omitempty"`   // default: the tenant's default role
	Licence   string   `json:"licence,omitempty"` // default: the tenant's default licence type
	// AdminPassword is the caller's own password, re-entered.
	AdminPassword string `json:"adminPassword"`
	// Password is the user's first password; leave it out with Generate to
	// have one generated and emailed to the user (nobody else sees it).
	Password string `json:"password,omitempty"`
	Generate bool   `json:"generate,omitempty"`
}

// AddUser is a validated addition.
type AddUser struct {
	Caller        access.Caller
	AccountID     string
	Email         string // normalised
	FirstName     string
	LastName      string
	Roles         []string // sorted, unique; nil: the tenant's default
	Licence       string   // "": the tenant's default
	AdminPassword string
	Password      string
	Generate      bool
	IP            string // the client address, for the limiter of password checks
}

// Command validates the request, reporting every bad field at once (the
// password policy is the tenant's, checked later).
func (r AddUserRequest) Command(c access.Caller, accountID, ip string) (AddUser, error) {
	var f apperr.Fields
	addr, err := identity.NormalizeEmail(r.Email)
	if err != nil {
		fe := identity.EmailFieldError(err)
		f.Add("email", fe.Code, fe.Detail)
	}
	cmd := AddUser{Caller: c, AccountID: accountID, Email: addr, AdminPassword: r.AdminPassword, Password: r.Password,
		Generate: r.Generate, IP: ip}
	cmd.FirstName = ValidName(&f, "firstName", r.FirstName, MaxPersonName)
	cmd.LastName = ValidName(&f, "lastName", r.LastName, MaxPersonName)
	if r.Roles != nil {
		cmd.Roles = CleanRoles(&f, "roles", r.Roles)
	}
	if r.Licence != "" {
		cmd.Licence = r.Licence
		f.Check(licences.ValidType(r.Licence), "licence", "invalid_licence", "a licence type is lower-case letters, digits, '-' or '_', at most 40")
	}
	f.Check(r.AdminPassword != "", "adminPassword", "required", "re-enter your own password")
	f.Check(len(r.AdminPassword) <= identity.MaxPasswordLength, "adminPassword", "too_long", "that is not your password")
	f.Check(r.Generate != (r.Password != ""), "password", "password_or_generate", "give a password, or generate: true, not both")
	return cmd, f.Err()
}

// Errors of adding a user.
var (
	ErrEmailTaken = apperr.New(apperr.KindConflict, "email_taken",
		"a user with this email address exists already in this tenant: invite them to the account instead (they accept in their own session)")
	ErrPendingInvitation = apperr.New(apperr.KindConflict, "already_invited",
		"a pending invitation to this address exists in this account: resend it, or revoke it before adding the user")
)

// UserAdded reports an added user (never their password).
type UserAdded struct {
	User          identity.UserView       `json:"user"`
	Membership    accounts.MembershipView `json:"membership"`
	EmailVerified bool                    `json:"emailVerified"` // false until they prove the address at first sign-in
	// Emailed says a generated password was emailed to the user; false
	// with generate means the email failed: generate again with PUT
	// /users/{id}/password.
	Emailed       bool   `json:"emailed"`
	DeliveryError string `json:"deliveryError,omitempty"`
}

// AddUser creates an active user with a membership of cmd.AccountID (see
// the comment at the top of this file).
func (s *Service) AddUser(ctx context.Context, cmd AddUser) (UserAdded, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return UserAdded{}, err
	}
	roles := cmd.Roles
	if len(roles) == 0 {
		def := settings.DefaultRole
		if def == "" {
			def = access.RoleViewer
		}
		roles = []string{def}
	}
	licence := cmd.Licence
	if licence == "" {
		if licence = settings.DefaultLicence; licence == "" {
			licence = tenancy.DefaultLicence
		}
	}
	grant, err := s.Access.RequireGrant(ctx, c, access.InviteUsers, cmd.AccountID, "", roles)
	if err != nil {
		return UserAdded{}, fmt.Errorf("add a user to account %s: %w", cmd.AccountID, err)
	}
	if cmd.Generate && s.Mail == nil {
		return UserAdded{}, apperr.New(apperr.KindConflict, "email_not_configured", "no email can be sent from here: set a password instead")
	}
	password := cmd.Password
	if cmd.Generate {
		password = GeneratePassword(max(settings.PasswordPolicy.MinLength, 20))
	}
	if err := settings.PasswordPolicy.Check("password", password, cmd.Email); err != nil {
		return UserAdded{}, err
	}
	me, err := identity.LoadUser(ctx, s.Store, t, c.UserID)
	if err != nil {
		return UserAdded{}, err
	}
	reserved, err := s.verify(ctx, t, settings, me, cmd.AdminPassword, "adminPassword", cmd.IP)
	if err != nil {
		return UserAdded{}, err
	}
	hash, err := identity.HashPassword(password)
	if err != nil {
		return UserAdded{}, apperr.Internal("hash password", err)
	}
	seats, err := plans.TakeIn(ctx, s.Store, t, settings.Catalogue(), settings.PurchaseURL, []string{cmd.AccountID}, licence)
	if err != nil {
		return UserAdded{}, err
	}

	now := s.now()
	u := identity.NewUser(t, identity.User{ID: s.IDs.NewID(), Email: cmd.Email, FirstName: cmd.FirstName, LastName: cmd.LastName,
		PasswordHash: hash, Status: identity.UserActive, EmailUnverified: true, HomeAccountID: cmd.AccountID, CreatedAt: now, UpdatedAt: now})
	m := accounts.NewMembership(t, accounts.Membership{AccountID: cmd.AccountID, UserID: u.ID, Email: u.Email, Roles: roles,
		FirstName: u.FirstName, LastName: u.LastName, Licence: licence, CreatedAt: now, UpdatedAt: now})
	writes := []*store.Write{
		store.Put(u).If(store.NotExists()),
		store.Put(identity.NewEmailClaim(t, u.Email, u.ID)).If(store.NotExists()).OrFail(ErrEmailTaken),
		store.Put(m).If(store.NotExists()),
		store.Check(t.PendingInvitation(cmd.AccountID, u.Email), store.NotExists()).OrFail(ErrPendingInvitation),
		accounts.Open(t, cmd.AccountID),
	}
	writes = append(writes, seats...) // a seat of the plan, override or purchase; or no pool appeared meanwhile
	if slices.Contains(roles, access.RoleAdmin) {
		writes = append(writes, caps.Admins.Reserve(t, settings, 1, now))
	}
	writes = append(writes, grant.Checks()...)
	writes = append(writes, reserved.Succeeded()...)
	writes = append(writes, changelog.New(t, s.IDs.NewID(), now, cmd.AccountID, changelog.ActorOf(c), "user.created", "user", u.ID, nil,
		map[string]any{"email": u.Email, "firstName": u.FirstName, "lastName": u.LastName, "roles": roles, "licence": licence,
			"status": u.Status, "emailVerified": false, "password": map[bool]string{true: "generated", false: "set by administrator"}[cmd.Generate]}).Write())
	if err := s.transact(ctx, "add user to account "+cmd.AccountID, writes); err != nil {
		// The caller's password was right: the refusal is about the user,
		// so their own failure counters start again all the same.
		if apperr.KindOf(err) != apperr.KindInternal && !errors.Is(err, access.ErrGrantorChanged) {
			if derr := s.Sessions.Attempts().Done(ctx, reserved); derr != nil {
				s.Log.WarnContext(ctx, "reset attempts after a refused addition", "error", derr)
			}
		}
		return UserAdded{}, err
	}
	out := UserAdded{User: identity.UserViewOf(u), Membership: accounts.MembershipViewOf(m)}
	if cmd.Generate {
		text := fmt.Sprintf("Hello %s,\n\nAn administrator created a user for you (%s). Your password is:\n\n    %s\n\n"+
			"When you first sign in, we send a code to this address to confirm it. Change the password once you are in.\n",
			u.Name(), u.Email, password)
		if _, err := s.Mail.Send(ctx, email.Message{To: u.Email, Subject: "Your new user", Text: text}); err != nil {
			// The user exists; their password is unknown to anyone. The
			// administrator generates another (PUT /users/{id}/password).
			s.Log.WarnContext(ctx, "generated password not sent", "user", u.ID, "error", err)
			out.DeliveryError = "the email could not be sent: generate a new password with PUT /users/" + u.ID + "/password"
		} else {
			out.Emailed = true
		}
	}
	return out, nil
}
