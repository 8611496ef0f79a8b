package invitations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/table"
)

// Outcome is what SES reported about an invitation's email after it took
// it (functions/ses-events).
type Outcome struct {
	InvitationID string
	MessageID    string // SES's id of the email the report is about
	Delivery     string // DeliveryDelayed, DeliveryBouncedTransient, DeliveryRejected, DeliveryBounced, DeliveryComplained
	Reason       string // SES's word for it (bounce subtype, feedback type, delay type, reject reason)
	At           time.Time
}

// outcomeActions are the change-log actions of the outcomes.
var outcomeActions = map[string]string{
	DeliveryDelayed:          "invitation.delayed",
	DeliveryBouncedTransient: "invitation.bounced",
	DeliveryBounced:          "invitation.bounced",
	DeliveryRejected:         "invitation.rejected",
	DeliveryComplained:       "invitation.complained",
}

// outcomeRank orders the delivery states an outcome may replace: a report
// replaces only a state of lower rank, so a second copy of a notification
// changes nothing and a late delay never hides a bounce.
var outcomeRank = map[string]int{
	DeliverySending: 0, DeliverySent: 0,
	DeliveryDelayed:          1,
	DeliveryBouncedTransient: 2, DeliveryRejected: 2,
	DeliveryBounced:    3,
	DeliveryComplained: 4,
}

// Recorded says what RecordOutcome did.
type Recorded struct {
	Changed    bool       // the invitation's delivery now shows the outcome
	Invitation Invitation // as read before the change (zero when it no longer exists)
}

// RecordOutcome records o on its invitation's delivery, with one
// change-log entry per account of the invitation, in one transaction, by
// the ses-events system actor. The update holds under the condition that
// the invitation's current email is o's (messageId) and that its delivery
// state ranks below o's, so an invitation that was deleted, resent since
// (a new message id) or already shows this outcome (or a graver one) is
// left as it is: Changed false, no error. A DynamoDB failure is an error.
func (s *Service) RecordOutcome(ctx context.Context, t table.Tenant, o Outcome) (Recorded, error) {
	action, ok := outcomeActions[o.Delivery]
	if !ok {
		return Recorded{}, fmt.Errorf("record outcome of invitation %s: unknown delivery %q", o.InvitationID, o.Delivery)
	}
	var inv Invitation
	found, err := s.Store.Get(ctx, t.Invitation(o.InvitationID), &inv)
	if err != nil {
		return Recorded{}, fmt.Errorf("record outcome of invitation %s: %w", o.InvitationID, err)
	}
	if !found {
		return Recorded{}, nil
	}
	out := Recorded{Invitation: inv}
	if inv.MessageID != o.MessageID || outcomeRank[inv.Delivery] >= outcomeRank[o.Delivery] {
		return out, nil // another email's report, or nothing new: the condition below would refuse it too
	}
	var lower []expression.OperandBuilder
	for state, rank := range outcomeRank {
		if rank < outcomeRank[o.Delivery] {
			lower = append(lower, expression.Value(state))
		}
	}
	cond := store.Is("messageId", o.MessageID).And(expression.Name("delivery").In(lower[0], lower[1:]...))
	upd := expression.Set(expression.Name("delivery"), expression.Value(o.Delivery)).
		Set(expression.Name("deliveryReportedAt"), expression.Value(o.At.UTC()))
	if o.Reason != "" {
		upd = upd.Set(expression.Name("deliveryError"), expression.Value(o.Reason))
	} else {
		upd = upd.Remove(expression.Name("deliveryError"))
	}
	writes := []*store.Write{store.Update(t.Invitation(inv.ID), upd).If(cond).OrFail(errChanged)}
	now := s.Clock.Now()
	for _, a := range inv.AccountIDs {
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, a, suppression.Actor, action, changeLogSubjectInv, inv.ID,
			map[string]any{"delivery": inv.Delivery}, map[string]any{"delivery": o.Delivery, "reason": o.Reason, "email": inv.Email}).Write())
	}
	if err := s.Store.Transact(ctx, "record outcome of "+describe(inv), writes...); err != nil {
		if errors.Is(err, errChanged) {
			return out, nil // resent or reported meanwhile
		}
		return Recorded{}, err
	}
	out.Changed = true
	return out, nil
}
