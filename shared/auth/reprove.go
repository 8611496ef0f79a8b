package auth

import (
	"context"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/attempts"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// ErrWrongPassword is a password re-entered to prove who the caller is
// (their current password, or an admin's own) that does not match: 403,
// not a validation error, since the request is well formed and it is the
// proof that fails. Every one is counted by the limiter of password checks.
var ErrWrongPassword = apperr.New(apperr.KindForbidden, "wrong_password", "the password you entered is not correct")

// WrongPassword is ErrWrongPassword naming the field that did not match.
func WrongPassword(field string) error {
	detail := "your current password is not correct"
	if field == "adminPassword" {
		detail = "the password you re-entered is not your own password"
	}
	e := ErrWrongPassword.Withf("%s", detail)
	e.Fields = []apperr.FieldError{{Field: field, Code: ErrWrongPassword.Code, Detail: detail}}
	return e
}

// ProvePassword checks u's password again, for a change that a session
// alone must not make (a new password, a new second factor), through the
// one limiter of password checks (the same counters as sign-in): the
// attempt is counted before it is verified, a locked scope answers 429
// without verifying, and a wrong password is 403 wrong_password naming
// field. On success the reservation's writes go with the change it allows.
func (s *Service) ProvePassword(ctx context.Context, t table.Tenant, limits tenancy.Limits, u identity.User, password, field, ip string) (*attempts.Reservation, error) {
	reserved, err := s.Attempts().Reserve(ctx, attempts.Check{Tenant: t, Email: u.Email, Address: ip, Limits: limits})
	if err != nil {
		return nil, err
	}
	good := false
	if u.PasswordHash != "" {
		if good, err = identity.VerifyPassword(password, u.PasswordHash); err != nil {
			return nil, apperr.Internal("verify password", err)
		}
	}
	if !good {
		return nil, WrongPassword(field)
	}
	return reserved, nil
}
