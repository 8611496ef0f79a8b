package invitations_test

import (
	"context"
	"errors"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/testkit"
)

// An address SES reports exactly between an invite's (or a resend's)
// read of the suppression list and its commit is refused by the
// transaction's condition: nothing is created or renewed, nothing sent.
// Removing suppression.NotSuppressed from either transaction fails this.
func TestASuppressionRacingAnInviteOrAResendWins(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	gate := &testkit.CommitGate{DynamoDB: w.env.DB}
	racing := *w.svc
	racing.Store = store.New(gate, w.env.Config.Table)
	racing.Access = access.Checker{Store: racing.Store}
	list := &suppression.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	suppress := func(addr string) func() {
		return func() {
			if _, err := list.Add(ctx, w.ten.Tenant, suppression.Suppress{Email: addr, Reason: suppression.ReasonBounced, At: w.env.Clock.Now()}); err != nil {
				t.Error(err)
			}
		}
	}

	t.Run("invite", func(t *testing.T) {
		addr := "race-invite@suppressed.example"
		cmd, err := invitations.InviteRequest{Emails: []string{addr}}.Command(w.admin, w.ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		gate.Arm(suppress(addr)) // the first transaction reserves the quota, after the read
		_, err = racing.Invite(ctx, cmd)
		if !errors.Is(err, suppression.ErrSuppressed) {
			t.Fatalf("got %v, want address_suppressed", err)
		}
		if w.exists(t, w.ten.PendingInvitation(w.ten.AccountID, addr)) {
			t.Fatal("an invitation was created for a suppressed address")
		}
	})
	t.Run("resend", func(t *testing.T) {
		addr := "race-resend@suppressed.example"
		id, _ := w.invite(t, addr)
		gate.Arm(suppress(addr))
		_, err := racing.Resend(ctx, invitations.ResendCommand{Caller: w.admin, InvitationID: id, SendEmail: true})
		if !errors.Is(err, suppression.ErrSuppressed) {
			t.Fatalf("got %v, want address_suppressed", err)
		}
		if inv := w.invitation(t, id); inv.Version != 1 || inv.Sends != 1 {
			t.Fatalf("the resend changed the invitation: version %d, sends %d", inv.Version, inv.Sends)
		}
	})
}
