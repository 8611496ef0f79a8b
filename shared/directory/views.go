package directory

import (
	"context"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// AccountView is one account as GET shows it; its Version is the ETag.
type AccountView struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Status    string     `json:"status"`
	PlanID    string     `json:"planId,omitempty"`
	ParentID  string     `json:"parentId,omitempty"`
	CreatedAt time.Time  `json:"createdAt"`
	UpdatedAt time.Time  `json:"updatedAt"`
	ClosedAt  *time.Time `json:"closedAt,omitempty"`
	// TwoFactorRequired: no session in this account without a second factor.
	TwoFactorRequired bool            `json:"twoFactorRequired"`
	Family            FamilyMark      `json:"family"`
	Licences          []licences.View `json:"licences"`
	// Limits are the effective limits: the plan's, each replaced by the
	// account's override when it has one.
	Limits  plans.Effective `json:"limits"`
	Version int64           `json:"version"`
}

// AccountViewOf shows an account, its licence pools and effective limits.
func AccountViewOf(a accounts.Account, pools []licences.Pool, limits plans.Effective) AccountView {
	v := AccountView{ID: a.ID, Name: a.Name, Status: a.Status, PlanID: a.PlanID, ParentID: a.ParentID, CreatedAt: a.CreatedAt,
		UpdatedAt: a.UpdatedAt, ClosedAt: a.ClosedAt, TwoFactorRequired: a.TwoFactorRequired, Family: FamilyOf(a.ParentID, a.ChildCount), Licences: []licences.View{}, Limits: limits, Version: a.Version}
	for _, p := range pools {
		v.Licences = append(v.Licences, licences.ViewOf(p))
	}
	return v
}

// Account reads one account the caller may read.
func (d *Directory) Account(ctx context.Context, caller access.Caller, accountID string) (AccountView, error) {
	if !ids.Valid(accountID) {
		return AccountView{}, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	if err := d.Access.Require(ctx, caller, access.ReadAccount, accountID); err != nil {
		return AccountView{}, err
	}
	a, err := accounts.Load(ctx, d.Store, caller.Tenant, accountID)
	if err != nil {
		return AccountView{}, err
	}
	return ViewAccount(ctx, d.Store, caller.Tenant, a)
}

// ViewAccount completes an account's view with its licence pools (one
// Query) and its effective limits (one GetItem of its plan).
func ViewAccount(ctx context.Context, s *store.Store, t table.Tenant, a accounts.Account) (AccountView, error) {
	pools, err := licences.Pools(ctx, s, t, a.ID)
	if err != nil {
		return AccountView{}, err
	}
	limits, err := plans.Load(ctx, s, t, a)
	if err != nil {
		return AccountView{}, err
	}
	return AccountViewOf(a, pools, limits), nil
}

// User reads a profile: the user themselves, operators, the Admins (or
// members with users.read) of the user's home account, and members with
// users.read of the caller's active account when the user is a member there.
// How much it shows follows the package comment: phone and time zone only
// to the user, operators and those who may edit the user (users.edit over
// them); to a reader who reaches the user only through the account their
// session is in, neither, nor the home account.
func (d *Directory) User(ctx context.Context, caller access.Caller, userID string) (identity.UserView, error) {
	u, err := identity.LoadUser(ctx, d.Store, caller.Tenant, userID)
	if err != nil {
		return identity.UserView{}, err
	}
	v := identity.UserViewOf(u)
	if u.ID == caller.UserID {
		return v, nil
	}
	r, err := access.ReachOverUser(ctx, d.Store, d.Access, caller, access.ReadUsers, u)
	if err != nil {
		return identity.UserView{}, err
	}
	if !r.Whole {
		v.HomeAccountID = ""
		v.Phone, v.TimeZone = "", ""
		return v, nil
	}
	switch err := access.RequireOverUser(ctx, d.Store, d.Access, caller, access.EditUsers, u); {
	case err == nil:
	case apperr.KindOf(err) == apperr.KindForbidden:
		v.Phone, v.TimeZone = "", ""
	default:
		return identity.UserView{}, err
	}
	return v, nil
}
