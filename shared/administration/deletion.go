package administration

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/twofactor"
)

// MaxBulkDelete bounds the users of one delete request.
const MaxBulkDelete = 100

// DeleteUsersRequest is the body of POST /users/delete.
type DeleteUsersRequest struct {
	UserIDs []string `json:"userIds"`
}

// DeleteUsers is a validated bulk delete.
type DeleteUsers struct {
	Caller  access.Caller
	UserIDs []string // unique, in the order given
}

// Command validates the request.
func (r DeleteUsersRequest) Command(c access.Caller) (DeleteUsers, error) {
	var f apperr.Fields
	var ids []string
	for _, id := range r.UserIDs {
		id = strings.TrimSpace(id)
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	f.Check(len(ids) > 0, "userIds", "required", "give at least one user id")
	f.Check(len(ids) <= MaxBulkDelete, "userIds", "too_many", "at most 100 users per request")
	return DeleteUsers{Caller: c, UserIDs: ids}, f.Err()
}

// Outcomes of one user of a bulk delete.
const (
	OutcomeDeleted = "deleted"
	OutcomeFailed  = "failed"
)

// DeleteResult is the outcome for one user id.
type DeleteResult struct {
	UserID  string `json:"userId"`
	Outcome string `json:"outcome"`
	Status  int    `json:"status"`         // the HTTP status this user alone would have got
	Code    string `json:"code,omitempty"` // the problem code when it failed
	Detail  string `json:"detail,omitempty"`
}

// DeleteReport is the result per id, in the order given.
type DeleteReport struct {
	Results []DeleteResult `json:"results"`
	Deleted int            `json:"deleted"`
	Failed  int            `json:"failed"`
}

// DeleteUsers deletes each user in its own transaction, reporting per id;
// status maps an error to its HTTP status (httpapi.Status).
func (s *Service) DeleteUsers(ctx context.Context, cmd DeleteUsers, status func(apperr.Kind) int) DeleteReport {
	results := make([]DeleteResult, len(cmd.UserIDs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, id := range cmd.UserIDs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			err := s.DeleteUser(ctx, cmd.Caller, id)
			r := DeleteResult{UserID: id, Outcome: OutcomeDeleted, Status: 204}
			if err != nil {
				e, ok := apperr.As(err)
				if !ok {
					e = apperr.Internal("delete user", err)
				}
				r.Outcome, r.Status, r.Code, r.Detail = OutcomeFailed, status(e.Kind), e.Code, e.Detail
				if e.Kind == apperr.KindInternal {
					r.Detail = "internal error"
					if s.Log != nil {
						s.Log.ErrorContext(ctx, "delete user failed", "userId", id, "error", err.Error())
					}
				}
			}
			results[i] = r
		}()
	}
	wg.Wait()
	rep := DeleteReport{Results: results}
	for _, r := range results {
		if r.Outcome == OutcomeDeleted {
			rep.Deleted++
		} else {
			rep.Failed++
		}
	}
	return rep
}

// DeleteUser deletes one user: not yourself, not the last active Admin of
// any account. In one transaction: the user becomes a tombstone (status
// deleted, no password, no phone, no home account, out of the users
// directory, every session refused from the next request on), the email
// claim goes (the address can be used again), every membership goes with
// its seat, each account keeps an active Admin, and each account's change
// log records it. What the user owns stays, shown as a deleted user's until
// reassigned. Needs users.delete over the user (their home account's
// Admins, operators).
func (s *Service) DeleteUser(ctx context.Context, c access.Caller, userID string) error {
	_, err := retryAdmin(func() (struct{}, error) { return struct{}{}, s.deleteUser(ctx, c, userID) })
	return err
}

func (s *Service) deleteUser(ctx context.Context, c access.Caller, userID string) error {
	t := c.Tenant
	if userID == c.UserID {
		return ErrSelf.Withf("you cannot delete yourself")
	}
	u, err := identity.LoadUser(ctx, s.Store, t, userID)
	if err != nil {
		return err
	}
	if err := access.RequireOverUser(ctx, s.Store, s.Access, c, access.DeleteUsers, u); err != nil {
		return err
	}
	ms, err := s.memberships(ctx, t, u.ID)
	if err != nil {
		return err
	}
	writes, err := s.leaveWrites(ctx, c, u, ms, "user.deleted")
	if err != nil {
		return err
	}
	now := s.now()
	writes = append(writes, tombstone(t, u, now)...)
	writes = append(writes, homeOpen(c, u)...)
	if !slices.ContainsFunc(ms, func(m accounts.Membership) bool { return m.AccountID == u.HomeAccountID }) && u.HomeAccountID != "" {
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, u.HomeAccountID, changelog.ActorOf(c), "user.deleted", "user", u.ID,
			map[string]any{"email": u.Email}, nil).Write())
	}
	return s.transact(ctx, "delete user "+u.ID, writes)
}

// tombstone is the writes that delete user u, read at its version: the
// user item becomes a tombstone (status deleted, no password, no phone, no
// home account, out of the users directory) so content they owned still
// shows whose it was; the session epoch moves, so every session is refused
// from its next request; the email claim goes, so the address can be
// invited again; and the second factors go (authenticator key, verified
// mobile, recovery codes): nothing of them is kept for a deleted user.
func tombstone(t table.Tenant, u identity.User, now time.Time) []*store.Write {
	return append([]*store.Write{
		identity.Tombstone(t, u, now).OrFail(ErrChanged),
		identity.ReleaseEmail(t, u.Email, u.ID).OrFail(ErrChanged),
	}, twofactor.ResetWrites(t, u.ID)...)
}

// leaveWrites are the writes that take u out of memberships ms: each
// membership deleted (it must still exist), its seat freed, each account
// kept with an active Admin, and a change-log entry per account.
func (s *Service) leaveWrites(ctx context.Context, c access.Caller, u identity.User, ms []accounts.Membership, action string) ([]*store.Write, error) {
	t, now := c.Tenant, s.now()
	var writes []*store.Write
	var held []licences.Held
	g := s.adminGuard(t)
	if err := s.keepAdmins(ctx, c, g, u, ms); err != nil {
		return nil, err
	}
	for _, m := range ms {
		held = append(held, licences.Held{AccountID: m.AccountID, Licence: m.Licence})
		writes = append(writes,
			store.Delete(t.Membership(m.AccountID, u.ID)).If(store.AtVersion(m.Version)).OrFail(ErrChanged),
			changelog.New(t, s.IDs.NewID(), now, m.AccountID, changelog.ActorOf(c), action, "user", u.ID,
				map[string]any{"email": u.Email, "roles": m.Roles, "licence": m.Licence}, nil).Write())
	}
	releases, err := licences.Releases(ctx, s.Store, t, held)
	if err != nil {
		return nil, err
	}
	writes = append(writes, releases...)
	return append(writes, g.Checks()...), nil
}

// RemoveMembership takes a user out of one account (an external user's
// access, or a member's): the membership goes with its seat, in one
// transaction with the change-log entry; the user's sessions in that
// account are refused from their next request. Not the last active Admin.
// Needs users.delete in the account; anyone may leave an account
// themselves.
//
// Nobody is stranded without a home account. When the account is the
// user's home, the same transaction either moves their home to another of
// their memberships, chosen as a wipe chooses (newHome: an open account,
// then one they hold a licence in, then the one they joined first), where
// their membership stops being external and the move is recorded in that
// account's change log, so that they sign in there by default and its
// Admins administer them; or, when they are a member nowhere else, deletes
// the user as DeleteUser does (a tombstone, the email claim released,
// every session revoked). Nobody deletes themselves this way: leaving
// one's only account is refused (ErrSelf), as deleting oneself is.
func (s *Service) RemoveMembership(ctx context.Context, c access.Caller, accountID, userID string) error {
	return s.removeMembership(ctx, c, accountID, userID, false)
}

// RemoveAssociate is RemoveMembership for the route that names an external
// member (DELETE /accounts/{a}/associates/{u}): the user's own home
// membership is 404 not_an_associate there. Same rule, same writes.
func (s *Service) RemoveAssociate(ctx context.Context, c access.Caller, accountID, userID string) error {
	return s.removeMembership(ctx, c, accountID, userID, true)
}

func (s *Service) removeMembership(ctx context.Context, c access.Caller, accountID, userID string, associate bool) error {
	_, err := retryAdmin(func() (struct{}, error) { return struct{}{}, s.removeOnce(ctx, c, accountID, userID, associate) })
	return err
}

func (s *Service) removeOnce(ctx context.Context, c access.Caller, accountID, userID string, associate bool) error {
	t := c.Tenant
	if !ids.Valid(accountID) || !ids.Valid(userID) {
		return apperr.ErrNotFound
	}
	if userID != c.UserID {
		if err := s.Access.Require(ctx, c, access.DeleteUsers, accountID); err != nil {
			return err
		}
	}
	m, u, err := s.member(ctx, t, accountID, userID)
	if err != nil {
		return err
	}
	if associate && !m.External {
		return ErrNotAssociate
	}
	if u.Operator && !c.Operator && accountID == u.HomeAccountID && userID != c.UserID {
		return access.ErrOperatorProtected.Withf("%s is tenant support staff: only tenant operators remove them from their home account", u.Email)
	}
	if u.HomeAccountID != accountID {
		writes, err := s.leaveWrites(ctx, c, u, []accounts.Membership{m}, "membership.removed")
		if err != nil {
			return err
		}
		return s.transact(ctx, "remove "+u.ID+" from "+accountID, append(writes, accounts.Open(t, accountID)))
	}
	others, err := s.memberships(ctx, t, u.ID)
	if err != nil {
		return err
	}
	others = slices.DeleteFunc(others, func(o accounts.Membership) bool { return o.AccountID == accountID })
	if len(others) == 0 {
		if userID == c.UserID {
			return ErrSelf.Withf("this is the only account you belong to: leaving it would delete your user; ask an Admin of the account to delete you")
		}
		writes, err := s.leaveWrites(ctx, c, u, []accounts.Membership{m}, "user.deleted")
		if err != nil {
			return err
		}
		writes = append(writes, tombstone(t, u, s.now())...)
		writes = append(writes, accounts.Open(t, accountID))
		return s.transact(ctx, "remove "+u.ID+" from their only account "+accountID+" (delete them)", writes)
	}
	writes, err := s.leaveWrites(ctx, c, u, []accounts.Membership{m}, "membership.removed")
	if err != nil {
		return err
	}
	open, err := s.openAccounts(ctx, t, others)
	if err != nil {
		return err
	}
	writes = append(writes, s.homeMoveWrites(c, u, accountID, newHome(others, open), "removed from their home account")...)
	writes = append(writes, accounts.Open(t, accountID))
	return s.transact(ctx, "remove "+u.ID+" from their home account "+accountID, writes)
}
