package administration_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
)

// A user whose only account is being wiped accepts, at the same moment, an
// invitation to another account. Whichever commits first, the user is
// never deleted under their new membership: either they are deleted and the
// accept failed, or they kept their user with the new account as home.
func TestWipeRacingAcceptNeverDeletesAUserWithAMembership(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	no := false
	inv := invitations.New(w.env.Service())
	outcomes := map[string]int{}
	for trial := range 20 {
		doomed := w.env.AddAccount(t, w.ten, fmt.Sprintf("Doomed %d", trial))
		other := w.env.AddAccount(t, w.ten, fmt.Sprintf("Other %d", trial))
		u, _ := w.member(t, doomed, fmt.Sprintf("racer%d@doomed.example", trial), access.RoleAdmin)
		res, err := inv.Invite(ctx, mustInvite(t, invitations.InviteRequest{Emails: []string{u.Email}, SendEmail: &no}, supportIn(op, other), other))
		wantKind(t, "invite", err, ok)
		_, token, _ := strings.Cut(res.Results[0].AcceptURL, "token=")
		token, _ = url.QueryUnescape(token)
		// The invitee has an account: they accept in their own session.
		s, err := (&auth.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}).
			SignIn(ctx, auth.SignIn{Tenant: w.ten.Tenant, Email: u.Email, Password: u.Password})
		wantKind(t, "sign in", err, ok)
		accept, err := invitations.AcceptRequest{Token: token}.Command(s.Token, "198.51.100.7", "test")
		wantKind(t, "accept command", err, ok)

		var wg sync.WaitGroup
		var acceptErr error
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, acceptErr = inv.Accept(ctx, accept)
		}()
		go func() {
			defer wg.Done()
			for range 20 { // a wipe that lost the race on the user's version is repeated
				res, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: doomed, ConfirmName: fmt.Sprintf("Doomed %d", trial), Wipe: true})
				if err == nil && res.Complete {
					return
				}
				if err != nil && apperr.KindOf(err) != apperr.KindConflict {
					t.Errorf("wipe: %v", err)
					return
				}
			}
			t.Error("the wipe does not finish")
		}()
		wg.Wait()

		user := w.user(t, u.ID)
		_, member := w.membership(t, other, u.ID)
		switch {
		case user.Status == identity.UserDeleted && member:
			t.Fatalf("trial %d: the user was deleted under their new membership", trial)
		case user.Status == identity.UserDeleted:
			if acceptErr == nil {
				t.Fatalf("trial %d: the accept succeeded for a deleted user", trial)
			}
			outcomes["deleted, accept refused"]++
		case member && user.HomeAccountID == other:
			if acceptErr != nil {
				t.Fatalf("trial %d: a member although the accept failed: %v", trial, acceptErr)
			}
			outcomes["accepted, home moved"]++
		default:
			t.Fatalf("trial %d: user %+v, member of the other account %v, accept %v", trial, user, member, acceptErr)
		}
		if w.partition(t, doomed) != 0 {
			t.Fatalf("trial %d: the wiped account left items", trial)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
