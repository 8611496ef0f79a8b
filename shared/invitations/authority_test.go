package invitations_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// putRole defines a custom role of the world's tenant.
func (w *world) putRole(t testing.TB, name string, perms ...access.Action) {
	t.Helper()
	k := w.ten.Role(name)
	r := access.CustomRole{PK: k.PK, SK: k.SK, Type: "ROLE", Name: name, Permissions: perms, Version: 1}
	if err := w.env.Store.Do(context.Background(), "put test role", store.Put(r)); err != nil {
		t.Fatal(err)
	}
}

// inviteAs has caller invite addr to the world's account with roles, without
// email, and returns the result or the refusal.
func (w *world) inviteAs(caller access.Caller, addr string, roles ...string) (invitations.EmailResult, error) {
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{addr}, Roles: roles, SendEmail: &no}.Command(caller, w.ten.AccountID)
	if err != nil {
		return invitations.EmailResult{}, err
	}
	res, err := w.svc.Invite(context.Background(), cmd)
	if err != nil {
		return invitations.EmailResult{}, err
	}
	return res.Results[0], nil
}

// setMemberRoles changes a membership's roles as an edit would: the roles
// and a version bump.
func (w *world) setMemberRoles(t testing.TB, accountID, userID string, roles ...string) {
	t.Helper()
	err := w.env.Store.Do(context.Background(), "set test roles", store.Update(w.ten.Membership(accountID, userID),
		store.BumpVersion().Set(expression.Name("roles"), expression.Value(&types.AttributeValueMemberSS{Value: roles}))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
}

// setUser sets one attribute of a user item.
func (w *world) setUser(t testing.TB, userID, name string, value any) {
	t.Helper()
	err := w.env.Store.Do(context.Background(), "set test user", store.Update(w.ten.User(userID),
		store.BumpVersion().Set(expression.Name(name), expression.Value(value))).If(store.Exists()))
	if err != nil {
		t.Fatal(err)
	}
}

func codeOf(err error) string {
	e, ok := apperr.As(err)
	if !ok {
		return ""
	}
	if len(e.Fields) > 0 {
		return e.Fields[0].Code
	}
	return e.Code
}

// nothingWritten fails when the account holds any invitation entry, guard or
// quota counter.
func (w *world) nothingWritten(t testing.TB, what string) {
	t.Helper()
	pk := w.ten.Account(w.ten.AccountID).PK
	if n := w.count(t, pk, "PENDING#") + w.count(t, pk, "INVITE#") + w.count(t, pk, "QUOTA#"); n > 0 {
		t.Fatalf("%s wrote %d items", what, n)
	}
}

func TestInviteIsBoundedByTheInvitersRights(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.putRole(t, "Recruiter", access.InviteUsers)
	w.putRole(t, "Editor", access.InviteUsers, access.EditUsers)
	recruiter := w.env.AddUser(t, w.ten, w.ten.AccountID, address("recruiter"), "", "Recruiter")
	asRecruiter := callerOf(w.ten, recruiter.ID, w.ten.AccountID, "Recruiter")

	for _, tc := range []struct {
		roles []string
		code  string
	}{
		{[]string{access.RoleAdmin}, "grant_exceeds_rights"},
		{[]string{"Editor"}, "grant_exceeds_rights"},                    // users.edit, which the recruiter lacks
		{[]string{access.RoleViewer, "Editor"}, "grant_exceeds_rights"}, // one role too many refuses all
		{[]string{"Wizard"}, "unknown_role"},
	} {
		_, err := w.inviteAs(asRecruiter, address("refused"), tc.roles...)
		if codeOf(err) != tc.code {
			t.Errorf("recruiter inviting as %v: want %s, got %v", tc.roles, tc.code, err)
		}
	}
	w.nothingWritten(t, "a refused invite")

	for _, roles := range [][]string{{access.RoleViewer}, {"Recruiter"}} {
		r, err := w.inviteAs(asRecruiter, address("granted"), roles...)
		if err != nil || r.Result != invitations.ResultCreated {
			t.Fatalf("recruiter inviting as %v: %+v %v", roles, r, err)
		}
		if inv := w.invitation(t, r.InvitationID); inv.InviterID != recruiter.ID || len(inv.InviterSupport) != 0 {
			t.Fatalf("inviter of %+v", inv)
		}
	}

	// Resend is the same grant: the recruiter cannot renew an Admin's offer
	// of Admin, and nothing changes; they may renew an offer of Viewer, and
	// become its inviter.
	adminOffer, _ := w.inviteAs(w.admin, address("offered-admin"), access.RoleAdmin)
	before := w.invitation(t, adminOffer.InvitationID)
	_, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: asRecruiter, InvitationID: adminOffer.InvitationID})
	if codeOf(err) != "grant_exceeds_rights" {
		t.Fatalf("recruiter resending an offer of Admin: %v", err)
	}
	if after := w.invitation(t, adminOffer.InvitationID); after.Version != before.Version || after.TokenHash != before.TokenHash {
		t.Fatal("a refused resend changed the invitation")
	}
	editorOffer, _ := w.inviteAs(w.admin, address("offered-editor"), "Editor")
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: asRecruiter, InvitationID: editorOffer.InvitationID}); codeOf(err) != "grant_exceeds_rights" {
		t.Fatalf("recruiter resending an offer of Editor: %v", err)
	}
	viewerOffer, _ := w.inviteAs(w.admin, address("offered-viewer"), access.RoleViewer)
	if _, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: asRecruiter, InvitationID: viewerOffer.InvitationID}); err != nil {
		t.Fatalf("recruiter resending an offer of Viewer: %v", err)
	}
	if inv := w.invitation(t, viewerOffer.InvitationID); inv.InviterID != recruiter.ID || inv.InviterEmail != recruiter.Email || inv.ResentBy != recruiter.ID {
		t.Fatalf("after the recruiter's resend: %+v", inv)
	}
}

func TestAcceptRechecksTheInvitersAuthority(t *testing.T) {
	t.Parallel()
	for name, change := range map[string]func(w *world, inviterID string){
		"deleted": func(w *world, id string) {
			if err := w.env.Store.Transact(context.Background(), "delete test user",
				store.Delete(w.ten.User(id)), store.Delete(w.ten.Membership(w.ten.AccountID, id))); err != nil {
				t.Fatal(err)
			}
		},
		"suspended": func(w *world, id string) { w.setUser(t, id, "status", "suspended") },
		"demoted":   func(w *world, id string) { w.setMemberRoles(t, w.ten.AccountID, id, access.RoleViewer) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			ctx := context.Background()
			inviter := w.env.AddUser(t, w.ten, w.ten.AccountID, address("inviter"), "", access.RoleAdmin)
			addr := address("invitee")
			r, err := w.inviteAs(callerOf(w.ten, inviter.ID, w.ten.AccountID, access.RoleAdmin), addr, access.RoleAdmin)
			if err != nil {
				t.Fatal(err)
			}
			token := tokenOf(t, r.AcceptURL)
			change(w, inviter.ID)

			_, err = w.accept(ctx, token, newUser("Late"), "")
			e, _ := apperr.As(err)
			if e == nil || e.Kind != apperr.KindGone || e.Code != "inviter_cannot_grant" ||
				!strings.Contains(e.Detail, "ask an Admin of Account of "+w.ten.ID()+" to invite you again") {
				t.Fatalf("accept after the inviter was %s: %v", name, err)
			}
			if _, err := w.svc.Open(ctx, token, ""); !errors.Is(err, invitations.ErrInviterCannotGrant) {
				t.Fatalf("the accept page after the inviter was %s: %v", name, err)
			}
			inv := w.invitation(t, r.InvitationID)
			if inv.Status != invitations.StatusPending || inv.Version != 1 {
				t.Fatalf("the refused accept changed the invitation: %+v", inv)
			}
			if w.exists(t, w.ten.EmailClaim(addr)) {
				t.Fatal("the refused accept created a user")
			}
			for _, m := range w.members(t, w.ten.AccountID) {
				if m.Email == addr {
					t.Fatal("the refused accept created a membership")
				}
			}

			// An Admin's resend makes them the inviter: the new link works.
			res, err := w.svc.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: r.InvitationID, SendEmail: false})
			if err != nil {
				t.Fatal(err)
			}
			if res.Invitation.Inviter.ID != w.ten.AdminID {
				t.Fatalf("inviter after the resend: %+v", res.Invitation.Inviter)
			}
			got, err := w.accept(ctx, tokenOf(t, res.AcceptURL), newUser("Revived"), "")
			if err != nil {
				t.Fatalf("accept after an Admin's resend: %v", err)
			}
			if inv := w.invitation(t, r.InvitationID); inv.Status != invitations.StatusAccepted || inv.InviterID != w.ten.AdminID {
				t.Fatalf("after the accept: %+v", inv)
			}
			joined := false
			for _, m := range w.members(t, w.ten.AccountID) {
				joined = joined || (m.UserID == got.UserID && slices.Equal(m.Roles, []string{access.RoleAdmin}))
			}
			if !joined {
				t.Fatal("no Admin membership after the accept")
			}
		})
	}
}

func TestOperatorsInviteOnlySwitchedIn(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	home := w.env.AddAccount(t, w.ten, "Vendor")
	op := w.env.AddUser(t, w.ten, home, address("operator"), "", access.RoleAdmin)
	w.setUser(t, op.ID, "operator", true)
	unswitched := access.Caller{Tenant: w.ten.Tenant, UserID: op.ID, SessionID: "s", AccountID: home, Roles: []string{access.RoleAdmin}, Operator: true}
	if _, err := w.inviteAs(unswitched, address("unswitched"), access.RoleViewer); !errors.Is(err, access.ErrSwitchRequired) {
		t.Fatalf("an operator inviting without a switch: %v", err)
	}
	// Switched into another account is not switched into this one.
	elsewhere := unswitched
	elsewhere.SupportReason = "ticket 41"
	if _, err := w.inviteAs(elsewhere, address("elsewhere"), access.RoleViewer); !errors.Is(err, access.ErrSwitchRequired) {
		t.Fatalf("an operator switched into another account: %v", err)
	}
	w.nothingWritten(t, "an unswitched operator's invite")

	switched := unswitched
	switched.AccountID, switched.SupportReason = w.ten.AccountID, "ticket 42"
	r, err := w.inviteAs(switched, address("supported"), access.RoleAdmin)
	if err != nil || r.Result != invitations.ResultCreated {
		t.Fatalf("a switched-in operator inviting: %+v %v", r, err)
	}
	if inv := w.invitation(t, r.InvitationID); !slices.Equal(inv.InviterSupport, []string{w.ten.AccountID}) {
		t.Fatalf("inviterSupport: %v", inv.InviterSupport)
	}
	entries := w.changes(t, w.ten.AccountID, "invitation.created")
	if len(entries) != 1 || entries[0].Actor.Kind != changelog.ActorSupport || entries[0].Actor.Reason != "ticket 42" || entries[0].Actor.ID != op.ID {
		t.Fatalf("change log: %+v", entries)
	}
	// Invited as support, the invitation holds while they are support staff.
	other, _ := w.inviteAs(switched, address("supported-later"), access.RoleViewer)
	if _, err := w.accept(ctx, tokenOf(t, r.AcceptURL), newUser("Supported"), ""); err != nil {
		t.Fatalf("accept of a support invitation: %v", err)
	}
	w.setUser(t, op.ID, "operator", false)
	if _, err := w.accept(ctx, tokenOf(t, other.AcceptURL), newUser("Orphan"), ""); !errors.Is(err, invitations.ErrInviterCannotGrant) {
		t.Fatalf("accept after the inviter stopped being an operator: %v", err)
	}
}

// An accept racing its inviter's demotion never joins after the demotion
// committed. The demotion is one transaction that also requires the
// invitation to be pending, so when it commits the accept had not: that
// accept must then be refused; when it fails, the accept committed first.
// Rounds alternate between a demotion that lands exactly between the
// accept's decision and its commit, and one that races the commit.
func TestAcceptRacingTheInvitersDemotion(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	gate := &testkit.CommitGate{DynamoDB: w.env.DB}
	svc := *w.svc
	svc.Store = store.New(gate, w.env.Config.Table)
	svc.Access = access.Checker{Store: svc.Store}
	inviter := w.env.AddUser(t, w.ten, w.ten.AccountID, address("racer"), "", access.RoleAdmin)
	asInviter := callerOf(w.ten, inviter.ID, w.ten.AccountID, access.RoleAdmin)
	rounds := 24
	if testing.Short() {
		rounds = 6
	}
	outcomes := map[string]int{}
	for round := range rounds {
		w.setMemberRoles(t, w.ten.AccountID, inviter.ID, access.RoleAdmin)
		addr := address("raced")
		r, err := w.inviteAs(asInviter, addr, access.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		demote := func() error {
			return w.env.Store.Transact(ctx, "demote the inviter",
				store.Update(w.ten.Membership(w.ten.AccountID, inviter.ID),
					store.BumpVersion().Set(expression.Name("roles"), expression.Value(&types.AttributeValueMemberSS{Value: []string{access.RoleViewer}}))),
				store.Check(w.ten.Invitation(r.InvitationID), store.Is("status", invitations.StatusPending)))
		}
		var (
			wg                   sync.WaitGroup
			acceptErr, demoteErr error
		)
		req := newUser("Racer")
		req.Token = tokenOf(t, r.AcceptURL)
		cmd, err := req.Command("", "198.51.100.7", "test")
		if err != nil {
			t.Fatal(err)
		}
		if round%2 == 0 {
			gate.Arm(func() { demoteErr = demote() })
			_, acceptErr = svc.Accept(ctx, cmd)
		} else {
			wg.Add(1)
			gate.Arm(func() {
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(round%5) * 2 * time.Millisecond)
					demoteErr = demote()
				}()
			})
			_, acceptErr = svc.Accept(ctx, cmd)
			wg.Wait()
		}
		joined := false
		for _, m := range w.members(t, w.ten.AccountID) {
			joined = joined || m.Email == addr
		}
		switch {
		case demoteErr == nil && (acceptErr == nil || joined):
			t.Fatalf("round %d: the accept joined after the demotion committed (accept: %v)", round, acceptErr)
		case demoteErr == nil:
			if !errors.Is(acceptErr, invitations.ErrInviterCannotGrant) {
				t.Fatalf("round %d: accept after the demotion: %v", round, acceptErr)
			}
			if inv := w.invitation(t, r.InvitationID); inv.Status != invitations.StatusPending {
				t.Fatalf("round %d: the refused accept changed the invitation: %+v", round, inv)
			}
			outcomes["refused"]++
		default:
			if acceptErr != nil || !joined {
				t.Fatalf("round %d: the demotion failed (%v) but the accept did not join: %v", round, demoteErr, acceptErr)
			}
			outcomes["joined first"]++
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
