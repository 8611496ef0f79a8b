package access

import (
	"context"
	"errors"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
)

// RequireOverUser decides whether caller may do action to user u. A user
// belongs to their home account: its members with the permission (Admins)
// may act on them; tenant operators may while switched into it (or, as
// tenant administration, read their audit trail). Support staff are
// administered only by operators: a non-operator may read an operator but
// never change one, an operator administers operators without a switch. A
// user without a home account is the operators'. Read actions are also
// open to the members of the caller's active account when u is a member
// there (an Admin reads the external consultants of their account). Every
// user may read themselves; what they may change about themselves is
// decided by the caller of this function.
func RequireOverUser(ctx context.Context, s *store.Store, checker Checker, caller Caller, action Action, u identity.User) error {
	_, err := ReachOverUser(ctx, s, checker, caller, action, u)
	return err
}

// Reach is how much of a user a caller reads: the whole of them, or only
// their share in one account (shared/directory's package comment says what
// each shows).
type Reach struct {
	Whole bool
	Self  bool   // the caller is the user
	Home  string // the user's home account
	// AccountID, when not Whole, is the one account whose share is read:
	// the caller's active account, where the user is a member.
	AccountID string
}

// ReachOverUser is RequireOverUser, answering also by which rule caller
// may: over the whole user (an operator, the permission in u's home
// account), or as a member of the account their session is in, where u is
// a member too (reads only), over u's share in that account alone.
func ReachOverUser(ctx context.Context, s *store.Store, checker Checker, caller Caller, action Action, u identity.User) (Reach, error) {
	whole := Reach{Whole: true, Home: u.HomeAccountID}
	switch {
	case u.Operator && caller.Operator:
		return whole, nil
	case u.Operator && !IsRead(action):
		return Reach{}, ErrOperatorProtected.Withf("%s is tenant support staff: only tenant operators may do this to them", u.Email)
	case caller.Operator && u.HomeAccountID == "":
		return whole, nil
	}
	refusal := apperr.ErrForbidden.Withf("only administrators of this user's home account may do this")
	if u.HomeAccountID != "" {
		err := checker.Require(ctx, caller, action, u.HomeAccountID)
		if err == nil {
			return whole, nil
		}
		if apperr.KindOf(err) != apperr.KindForbidden && apperr.KindOf(err) != apperr.KindNotFound {
			return Reach{}, err
		}
		if errors.Is(err, ErrSwitchRequired) {
			refusal = ErrSwitchRequired.Withf("switch into %s's home account %s with a reason (POST /me/switch-account) to do this", u.Email, u.HomeAccountID)
		}
	}
	if IsRead(action) && caller.AccountID != "" && caller.AccountID != u.HomeAccountID {
		var m accounts.Membership
		ok, err := s.Get(ctx, caller.Tenant.Membership(caller.AccountID, u.ID), &m)
		if err != nil {
			return Reach{}, err
		}
		if ok {
			if err := checker.Require(ctx, caller, action, caller.AccountID); err != nil {
				return Reach{}, err
			}
			return Reach{AccountID: caller.AccountID}, nil
		}
	}
	return Reach{}, refusal
}
