package invitations

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// An invitation grants roles, so it is bounded by its inviter's authority
// twice: when it is sent (or resent), the inviter must be allowed to grant
// its roles in every target account (access.Checker.RequireGrant), and when
// it is accepted, the inviter must still be (access.Checker.RequireGrantBy):
// an inviter deleted, suspended, demoted or no longer support staff since
// makes the invitation unusable (410 inviter_cannot_grant) until an Admin
// resends it, which makes them its inviter. Each decision's checks go into
// the transaction that sends or accepts, so a grantor demoted at the same
// moment makes the write fail instead of granting above their rights.

// ErrInviterCannotGrant refuses an accept whose inviter no longer holds the
// rights to grant what the invitation offers. The invitation stays pending.
var ErrInviterCannotGrant = apperr.New(apperr.KindGone, "inviter_cannot_grant",
	"the person who invited you can no longer grant this access; ask an Admin of the account to invite you again")

// grants are the proofs of one inviter's authority, by target account.
type grants map[string]access.Grant

// checks are the condition checks of the grants of accountIDs.
func (g grants) checks(accountIDs []string) []*store.Write {
	var out []*store.Write
	for _, a := range accountIDs {
		out = append(out, g[a].Checks()...)
	}
	return out
}

// supportIn lists the accounts of accountIDs where the grantor acted as
// support (a tenant operator switched into the account with a reason).
func (g grants) supportIn(accountIDs []string) []string {
	var out []string
	for _, a := range accountIDs {
		if g[a].Authority.Support {
			out = append(out, a)
		}
	}
	return out
}

// requireGrants: caller may invite to accountIDs with roles (the first
// refusal, in the accounts' order). It replaces access.Checker.Require for
// users.invite: it checks that action as well.
func (s *Service) requireGrants(ctx context.Context, caller access.Caller, accountIDs, roles []string) (grants, error) {
	out := make(grants, len(accountIDs))
	for _, a := range accountIDs {
		g, err := s.Access.RequireGrant(ctx, caller, access.InviteUsers, a, "", roles)
		if err != nil {
			return nil, fmt.Errorf("invite to account %s: %w", a, err)
		}
		out[a] = g
	}
	return out, nil
}

// inviterGrants re-decides, at accept, that inv's inviter may still grant
// its roles in each of its accounts (names: account names by id, for the
// refusal). A refusal of authority is ErrInviterCannotGrant, with the
// refusal as its cause for the logs; other failures (an outage) pass.
func (s *Service) inviterGrants(ctx context.Context, t table.Tenant, inv Invitation, names map[string]string) (grants, error) {
	out := make(grants, len(inv.AccountIDs))
	for _, a := range inv.AccountIDs {
		g, err := s.Access.RequireGrantBy(ctx, t, inv.InviterID, inv.InvitedAsSupport(a), access.InviteUsers, a, inv.Roles)
		if err != nil {
			if refusal(err) {
				return nil, inviterCannotGrant(inv, a, names[a], err)
			}
			return nil, fmt.Errorf("check the inviter of invitation %s in account %s: %w", inv.ID, a, err)
		}
		out[a] = g
	}
	return out, nil
}

// refusal reports whether err is an authority decision (not allowed, or a
// role that no longer exists) rather than a failure to decide.
func refusal(err error) bool {
	switch apperr.KindOf(err) {
	case apperr.KindForbidden, apperr.KindUnprocessable:
		return true
	}
	return false
}

// grantorChanged reports whether a transaction failed on a grant's checks:
// the grantor's rights, or a role offered, changed before it committed.
func grantorChanged(err error) bool {
	if errors.Is(err, access.ErrGrantorChanged) {
		return true
	}
	e, ok := apperr.As(err)
	return ok && e.Kind == apperr.KindUnprocessable && slices.ContainsFunc(e.Fields, func(f apperr.FieldError) bool { return f.Code == "unknown_role" })
}

func inviterCannotGrant(inv Invitation, accountID, accountName string, cause error) error {
	if accountName == "" {
		accountName = accountID
	}
	e := ErrInviterCannotGrant.Withf("the person who invited you can no longer grant this access; ask an Admin of %s to invite you again", accountName).
		With("accountId", accountID)
	e.Err = cause
	return e
}
