package administration

import (
	"context"
	"crypto/rand"
	"math/big"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// OwnPasswordRequest is the body of POST /me/password.
type OwnPasswordRequest struct {
	CurrentPassword string `json:"currentPassword"`
	NewPassword     string `json:"newPassword"`
	Confirmation    string `json:"confirmation"`
}

// ChangeOwnPassword is a validated own password change.
type ChangeOwnPassword struct {
	Caller    access.Caller
	Current   string
	New       string
	IP        string
	UserAgent string
}

// Command checks the shape (the policy is the tenant's, checked later).
func (r OwnPasswordRequest) Command(c access.Caller, ip, ua string) (ChangeOwnPassword, error) {
	var f apperr.Fields
	f.Check(r.CurrentPassword != "", "currentPassword", "required", "your current password is required")
	f.Check(len(r.CurrentPassword) <= identity.MaxPasswordLength, "currentPassword", "too_long", "that is not your password")
	f.Check(r.NewPassword != "", "newPassword", "required", "choose a new password")
	f.Check(r.Confirmation == r.NewPassword, "confirmation", "mismatch", "the confirmation is not the same as the new password")
	f.Check(r.NewPassword == "" || r.NewPassword != r.CurrentPassword, "newPassword", "unchanged", "the new password is the current one")
	return ChangeOwnPassword{Caller: c, Current: r.CurrentPassword, New: r.NewPassword, IP: ip, UserAgent: ua}, f.Err()
}

// ErrWrongPassword is a re-entered password that does not match (403
// wrong_password), counted by the limiter of password checks.
var ErrWrongPassword = auth.ErrWrongPassword

// ChangeOwnPassword checks the current password (wrong guesses count
// towards the same lock-out as failed sign-ins), checks the new one against
// the tenant's policy, stores its argon2id hash and revokes every session of
// the user by moving their session epoch, then opens a fresh session for
// the caller in the same transaction, so that the device that changed the
// password stays signed in and every other one is signed out.
func (s *Service) ChangeOwnPassword(ctx context.Context, cmd ChangeOwnPassword) (auth.Signed, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	u, err := identity.LoadUser(ctx, s.Store, t, c.UserID)
	if err != nil {
		return auth.Signed{}, err
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return auth.Signed{}, err
	}
	reserved, err := s.verify(ctx, t, settings, u, cmd.Current, "currentPassword", cmd.IP)
	if err != nil {
		return auth.Signed{}, err
	}
	if err := settings.PasswordPolicy.Check("newPassword", cmd.New, u.Email); err != nil {
		return auth.Signed{}, err
	}
	hash, err := identity.HashPassword(cmd.New)
	if err != nil {
		return auth.Signed{}, apperr.Internal("hash password", err)
	}
	now := s.now()
	writes := append(s.passwordWrites(t, u, hash, now), reserved.Succeeded()...)
	u.SessionEpoch++
	signed, sessionWrites := s.Sessions.NewSession(t, u, c.AccountID, settings.SessionTTL(), cmd.IP, cmd.UserAgent)
	writes = append(writes, sessionWrites...)
	writes = append(writes, changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.password_changed",
		"user", u.ID, nil, map[string]any{"otherSessions": "revoked"}).Write())
	if err := s.transact(ctx, "change password of "+u.ID, writes); err != nil {
		return auth.Signed{}, err
	}
	return signed, nil
}

// passwordWrites sets a new hash and revokes all sessions, at the version read.
func (s *Service) passwordWrites(t table.Tenant, u identity.User, hash string, now time.Time) []*store.Write {
	return []*store.Write{identity.SetPassword(t, u, hash, now).OrFail(ErrChanged)}
}

// AdminPasswordRequest is the body of PUT /users/{userId}/password.
type AdminPasswordRequest struct {
	// AdminPassword is the caller's own password, re-entered.
	AdminPassword string `json:"adminPassword"`
	// Password is the new password; leave it out with Generate to have one
	// generated and emailed to the user (nobody else ever sees it).
	Password string `json:"password,omitempty"`
	Generate bool   `json:"generate,omitempty"`
}

// SetPassword is a validated admin password set.
type SetPassword struct {
	Caller        access.Caller
	UserID        string
	AdminPassword string
	Password      string
	Generate      bool
	IP            string // the client address, for the limiter of password checks
}

// Command checks the shape.
func (r AdminPasswordRequest) Command(c access.Caller, userID, ip string) (SetPassword, error) {
	var f apperr.Fields
	f.Check(r.AdminPassword != "", "adminPassword", "required", "re-enter your own password")
	f.Check(len(r.AdminPassword) <= identity.MaxPasswordLength, "adminPassword", "too_long", "that is not your password")
	f.Check(r.Generate != (r.Password != ""), "password", "password_or_generate", "give a password, or generate: true, not both")
	return SetPassword{Caller: c, UserID: userID, AdminPassword: r.AdminPassword, Password: r.Password, Generate: r.Generate, IP: ip}, f.Err()
}

// PasswordSet reports an admin password change (never the password).
type PasswordSet struct {
	UserID  string `json:"userId"`
	Emailed bool   `json:"emailed"` // a generated password was emailed to the user
}

// SetPassword lets an administrator of the user's home account (or an
// operator) set a user's password after re-entering their own, or have one
// generated and emailed to the user. It revokes every session of the user.
// Nobody can read a password: only its argon2id hash is stored, and a
// generated one is sent to the user's address only.
func (s *Service) SetPassword(ctx context.Context, cmd SetPassword) (PasswordSet, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	if cmd.UserID == c.UserID {
		return PasswordSet{}, ErrSelf.Withf("change your own password with your current one (POST /me/password)")
	}
	u, err := identity.LoadUser(ctx, s.Store, t, cmd.UserID)
	if err != nil {
		return PasswordSet{}, err
	}
	if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
		return PasswordSet{}, err
	}
	me, err := identity.LoadUser(ctx, s.Store, t, c.UserID)
	if err != nil {
		return PasswordSet{}, err
	}
	settings, err := tenancy.Load(ctx, s.Store, t)
	if err != nil {
		return PasswordSet{}, err
	}
	reserved, err := s.verify(ctx, t, settings, me, cmd.AdminPassword, "adminPassword", cmd.IP)
	if err != nil {
		return PasswordSet{}, err
	}
	if err := s.Sessions.Attempts().Done(ctx, reserved); err != nil {
		return PasswordSet{}, err
	}
	password := cmd.Password
	if cmd.Generate {
		if s.Mail == nil {
			return PasswordSet{}, apperr.New(apperr.KindConflict, "email_not_configured", "no email can be sent from here: set a password instead")
		}
		password = GeneratePassword(max(settings.PasswordPolicy.MinLength, 20))
	}
	if err := settings.PasswordPolicy.Check("password", password, u.Email); err != nil {
		return PasswordSet{}, err
	}
	hash, err := identity.HashPassword(password)
	if err != nil {
		return PasswordSet{}, apperr.Internal("hash password", err)
	}
	now := s.now()
	writes := s.passwordWrites(t, u, hash, now)
	writes = append(writes, changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), "user.password_set", "user", u.ID,
		nil, map[string]any{"generated": cmd.Generate, "sessions": "revoked"}).Write())
	writes = append(writes, homeOpen(c, u)...)
	if err := s.transact(ctx, "set password of "+u.ID, writes); err != nil {
		return PasswordSet{}, err
	}
	out := PasswordSet{UserID: u.ID}
	if cmd.Generate {
		msg := email.NewPassword{To: u.Email, Name: u.Name(), Password: password, At: now, Zone: email.ReaderZone(u.TimeZone, settings.Zone())}.Render()
		if _, err := s.Mail.Send(ctx, msg); err != nil {
			// The password is set but unknown to anyone: the admin generates again.
			return out, apperr.New(apperr.KindUnavailable, "email_not_sent", "the password was changed but the email could not be sent; generate again").With("userId", u.ID)
		}
		out.Emailed = true
	}
	return out, nil
}

// GeneratePassword returns n characters from crypto/rand with each of the
// four character classes the default policy asks for.
func GeneratePassword(n int) string {
	const (
		lower   = "abcdefghijkmnopqrstuvwxyz"
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits  = "23456789"
		special = "-_.!@#%+="
	)
	all := lower + upper + digits + special
	pick := func(set string) byte {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		return set[i.Int64()]
	}
	out := []byte{pick(lower), pick(upper), pick(digits), pick(special)}
	for len(out) < n {
		out = append(out, pick(all))
	}
	for i := len(out) - 1; i > 0; i-- { // shuffle so the classes are not in a known place
		j, _ := rand.Int(rand.Reader, big.NewInt(int64(i+1)))
		out[i], out[j.Int64()] = out[j.Int64()], out[i]
	}
	return string(out)
}

// verify checks u's password through the one limiter of password checks
// (auth.ProvePassword): 429 while locked, 403 wrong_password naming field.
func (s *Service) verify(ctx context.Context, t table.Tenant, settings tenancy.Settings, u identity.User, password, field, ip string) (*attempts.Reservation, error) {
	return s.Sessions.ProvePassword(ctx, t, settings.Limit(), u, password, field, ip)
}
