package administration

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// ProfileRequest is the body of PATCH /users/{userId}: only the fields
// present change; "" clears the phone or the time zone.
type ProfileRequest struct {
	FirstName *string `json:"firstName,omitempty"`
	LastName  *string `json:"lastName,omitempty"`
	Phone     *string `json:"phone,omitempty"`
	TimeZone  *string `json:"timeZone,omitempty"`
	Email     *string `json:"email,omitempty"`
}

// EditProfile is a validated profile change.
type EditProfile struct {
	Caller    access.Caller
	UserID    string
	FirstName *string
	LastName  *string
	Phone     *string // E.164, or "" to clear
	TimeZone  *string // IANA, or "" to clear
	Email     *string // normalised
	IfMatch   int64
}

// MaxPersonName bounds first and last names.
const MaxPersonName = 100

// e164 is an E.164 number: "+", a country code not starting with 0, at most
// 15 digits in all (ITU-T E.164), no spaces or punctuation.
var e164 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`) }) // compiled on first use, not at init

// Command validates the request; every bad field is reported at once.
func (r ProfileRequest) Command(c access.Caller, userID string, ifMatch int64) (EditProfile, error) {
	var f apperr.Fields
	cmd := EditProfile{Caller: c, UserID: userID, IfMatch: ifMatch}
	if r.FirstName != nil {
		v := ValidName(&f, "firstName", *r.FirstName, MaxPersonName)
		cmd.FirstName = &v
	}
	if r.LastName != nil {
		v := ValidName(&f, "lastName", *r.LastName, MaxPersonName)
		cmd.LastName = &v
	}
	if r.Phone != nil {
		v := strings.TrimSpace(*r.Phone)
		f.Check(v == "" || e164().MatchString(v), "phone", "invalid_phone",
			"the phone number must be in E.164 form: + then the country code and number, digits only (e.g. +447700900123)")
		cmd.Phone = &v
	}
	if r.TimeZone != nil {
		v := strings.TrimSpace(*r.TimeZone)
		f.Check(v == "" || ValidTimeZone(v), "timeZone", "invalid_time_zone", "the time zone must be an IANA name such as Europe/Paris")
		cmd.TimeZone = &v
	}
	if r.Email != nil {
		v, err := identity.NormalizeEmail(*r.Email)
		if err != nil {
			fe := identity.EmailFieldError(err) // invalid_email, or confusable_email saying why
			f.Add("email", fe.Code, fe.Detail)
		}
		cmd.Email = &v
	}
	f.Check(r.FirstName != nil || r.LastName != nil || r.Phone != nil || r.TimeZone != nil || r.Email != nil,
		"(body)", "nothing_to_change", "give at least one of firstName, lastName, phone, timeZone, email")
	return cmd, f.Err()
}

// ValidTimeZone reports whether name is an IANA time zone the runtime knows
// (time.LoadLocation), other than "Local", which names the server's zone.
func ValidTimeZone(name string) bool {
	if name == "" || name == "Local" || len(name) > 64 {
		return false
	}
	_, err := time.LoadLocation(name)
	return err == nil
}

// Edited is the user after a profile change.
type Edited struct {
	User         identity.User
	EmailChanged bool
}

// EditProfile changes a profile in one transaction with its change-log
// entry, at the version read. Users edit their own name, phone and time
// zone; the email (which is the username) and everything about other users
// need users.edit over them (the Admins of their home account, operators).
//
// An email change re-keys uniqueness in the same transaction: the old claim
// is deleted (only if it is still this user's), the new one put only if no
// one holds it (409 email_taken otherwise), and the user's memberships (which
// carry the email for the members list) follow. The old and the new address
// are then told, when a mailer is configured. A name change is copied to
// the user's memberships in the same transaction, with their name keys
// (the users list sorts and searches by name; a user has few memberships).
// A membership created for the user between the read and the commit
// (an account created, an invitation accepted) makes the edit read again
// and copy to it too: the caller's ETag stays valid, since creating a
// membership does not change the profile.
func (s *Service) EditProfile(ctx context.Context, cmd EditProfile) (Edited, error) {
	for attempt := 1; ; attempt++ {
		e, err := s.editProfile(ctx, cmd)
		switch {
		case !errors.Is(err, errProfileRaced):
			return e, err
		case attempt == maxCopyAttempts:
			return Edited{}, fmt.Errorf("edit profile of %s: the user kept changing: %w", cmd.UserID, apperr.ErrUnavailable)
		}
	}
}

// errProfileRaced is the user changing between a profile edit's read and
// its commit: another edit, a status change, or a membership created while
// the edit copied the email or names to the memberships it had read.
var errProfileRaced = apperr.New(apperr.KindConflict, "profile_raced", "the user changed meanwhile")

func (s *Service) editProfile(ctx context.Context, cmd EditProfile) (Edited, error) {
	c, t := cmd.Caller, cmd.Caller.Tenant
	u, err := identity.LoadUser(ctx, s.Store, t, cmd.UserID)
	if err != nil {
		return Edited{}, err
	}
	emailChange := cmd.Email != nil && *cmd.Email != u.Email
	if u.ID != c.UserID || emailChange {
		if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.EditUsers, u); err != nil {
			if u.ID == c.UserID {
				return Edited{}, apperr.ErrForbidden.Withf("you cannot change your own email: ask an administrator of your account")
			}
			return Edited{}, err
		}
	}
	v, err := expect(cmd.IfMatch, u.Version)
	if err != nil {
		return Edited{}, err
	}
	now := s.now()
	before, after := map[string]any{}, map[string]any{}
	set := func(attr string, old string, val *string) {
		if val == nil || *val == old {
			return
		}
		before[attr], after[attr] = old, *val
	}
	set("firstName", u.FirstName, cmd.FirstName)
	set("lastName", u.LastName, cmd.LastName)
	set("phone", u.Phone, cmd.Phone)
	set("timeZone", u.TimeZone, cmd.TimeZone)
	if len(after) == 0 && !emailChange {
		return Edited{User: u}, nil
	}
	edited := u
	applyProfile(&edited, cmd, u.UpdatedAt, u.Version)
	var writes []*store.Write
	if emailChange {
		newEmail := *cmd.Email
		before["email"], after["email"] = u.Email, newEmail
		writes = append(writes,
			identity.ReleaseEmail(t, u.Email, u.ID).OrFail(ErrChanged),
			store.Put(identity.NewEmailClaim(t, newEmail, u.ID)).If(store.NotExists()).OrFail(apperr.ErrEmailTaken))
	}
	_, firstChanged := after["firstName"]
	_, lastChanged := after["lastName"]
	// A failure of this condition reads again: a caller's If-Match that no
	// longer holds is then 412, anything else is applied to what is new.
	var also []expression.ConditionBuilder
	if emailChange || firstChanged || lastChanged {
		also = append(also, identity.AtMembershipEpoch(u))
		ms, err := s.memberships(ctx, t, u.ID)
		if err != nil {
			return Edited{}, err
		}
		for _, m := range ms {
			writes = append(writes, store.Update(t.Membership(m.AccountID, u.ID), membershipOfProfile(t, m.AccountID, edited)).
				If(store.Exists()).OrFail(ErrChanged))
		}
	}
	action := "user.profile_changed"
	if emailChange {
		action = "user.email_changed"
	}
	entry := changelog.New(t, s.IDs.NewID(), now, logAccount(u.HomeAccountID, c), changelog.ActorOf(c), action, "user", u.ID, before, after)
	writes = append(writes,
		identity.ProfileUpdate(t, u, edited, v, now, also...).OrFail(errProfileRaced),
		entry.Write())
	if u.ID != c.UserID || emailChange {
		// Decided by authority over the user's home account, which must
		// still be open at commit. The copies of the profile into the
		// user's memberships are not the accounts' own changes: a
		// membership in a closed account is kept in step with its user.
		writes = append(writes, homeOpen(c, u)...)
	}
	if err := s.transact(ctx, "edit profile of "+u.ID, writes); err != nil {
		return Edited{}, err
	}
	old := u.Email
	applyProfile(&u, cmd, now, v+1)
	if emailChange {
		s.tellEmailChanged(ctx, t, u, old)
	}
	return Edited{User: u, EmailChanged: emailChange}, nil
}

// membershipOfProfile copies the user's email and name to their membership
// in accountID, with the keys that order and search the account's users by
// them (GSI2 by email; GSI4 by name; GSI5 by first name, only with a name).
func membershipOfProfile(t table.Tenant, accountID string, u identity.User) expression.UpdateBuilder {
	byEmail := t.AccountMembersByEmail(accountID, u.Email, u.ID)
	byName, byFirst := accounts.NameIndex(t, accountID, u.ID, u.Email, u.FirstName, u.LastName)
	upd := accounts.WithEmail(expression.UpdateBuilder{}, u.Email).
		Set(expression.Name(table.AttrGSI2PK), expression.Value(byEmail.PK)).
		Set(expression.Name(table.AttrGSI2SK), expression.Value(byEmail.SK)).
		Set(expression.Name(table.AttrGSI4PK), expression.Value(byName.PK)).
		Set(expression.Name(table.AttrGSI4SK), expression.Value(byName.SK))
	for _, a := range [][2]string{{"firstName", u.FirstName}, {"lastName", u.LastName}, {table.AttrGSI5PK, byFirst.PK}, {table.AttrGSI5SK, byFirst.SK}} {
		if a[1] == "" {
			upd = upd.Remove(expression.Name(a[0]))
		} else {
			upd = upd.Set(expression.Name(a[0]), expression.Value(a[1]))
		}
	}
	return upd
}

func applyProfile(u *identity.User, cmd EditProfile, now time.Time, version int64) {
	for _, f := range []struct {
		dst *string
		val *string
	}{{&u.FirstName, cmd.FirstName}, {&u.LastName, cmd.LastName}, {&u.Phone, cmd.Phone}, {&u.TimeZone, cmd.TimeZone}, {&u.Email, cmd.Email}} {
		if f.val != nil {
			*f.dst = *f.val
		}
	}
	u.UpdatedAt, u.Version = now, version
}

// tellEmailChanged emails the old and the new address, after the change is
// committed; a failure is logged, never undoes the change.
func (s *Service) tellEmailChanged(ctx context.Context, t table.Tenant, u identity.User, oldEmail string) {
	if s.Mail == nil {
		return
	}
	tenantZone := ""
	if u.TimeZone == "" { // only then is the tenant's default needed (email changes are rare)
		if settings, err := tenancy.Load(ctx, s.Store, t); err == nil {
			tenantZone = settings.Zone()
		}
	}
	for _, to := range []string{oldEmail, u.Email} {
		msg := email.EmailChanged{To: to, Name: u.Name(), OldEmail: oldEmail, NewEmail: u.Email, At: s.now(),
			Zone: email.ReaderZone(u.TimeZone, tenantZone)}.Render()
		if _, err := s.Mail.Send(ctx, msg); err != nil && s.Log != nil {
			s.Log.WarnContext(ctx, "email-change notice not sent", "userId", u.ID, "error", err.Error())
		}
	}
}
