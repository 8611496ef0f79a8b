// Package handler is the ses-events function: SES's notifications about
// the emails it took (SNS messages whose Message is SES's JSON), each
// recorded on the invitation the email was for and, for a permanent bounce
// or a complaint, on the tenant's suppression list.
//
//	Bounce, Permanent             delivery "bounced" (reason: the bounce subtype); each bounced recipient suppressed
//	Bounce, Transient/Undetermined delivery "bounced_transient"; not suppressed (a resend may work later)
//	Complaint                     delivery "complained" (reason: the feedback type); each complaining recipient suppressed
//	DeliveryDelay                 delivery "delayed" (reason: the delay type)
//	Reject                        delivery "rejected" (reason: SES's)
//
// The email is found by its message tags (tenant, invitation: see
// invitations.TagTenant) and its SES message id, so a report about an
// older email never lands on a newer resend. Everything is idempotent: SNS
// and Lambda may deliver a notification twice. A notification that cannot
// be read is logged (ids only, never an address) and skipped; a DynamoDB
// failure fails the invocation, so Lambda retries it and then hands it to
// the on-failure destination.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/suppression"
)

// Handler is the function's Lambda handler.
type Handler func(ctx context.Context, ev events.SNSEvent) error

// New returns the handler.
func New(d service.Deps) Handler {
	return NewWith(d.Log, invitations.New(d), &suppression.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs})
}

// NewWith is the handler over given services.
func NewWith(log *slog.Logger, inv *invitations.Service, list *suppression.Service) Handler {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, ev events.SNSEvent) error {
		for _, r := range ev.Records {
			l := log.With("function", "ses-events", "snsMessageId", r.SNS.MessageID)
			n, err := Parse(r.SNS.Message)
			if errors.Is(err, ErrIgnored) {
				l.InfoContext(ctx, "ses notification ignored", "reason", err.Error())
				continue
			}
			if err != nil {
				l.WarnContext(ctx, "ses notification skipped", "reason", err.Error())
				continue // a retry would not make it readable
			}
			l = l.With("tenantId", n.Tenant.ID(), "invitationId", n.InvitationID, "sesMessageId", n.MessageID, "delivery", n.Delivery)
			if err := apply(ctx, l, inv, list, n); err != nil {
				l.ErrorContext(ctx, "ses notification not recorded", "error", err.Error())
				return fmt.Errorf("ses notification %s: %w", r.SNS.MessageID, err)
			}
		}
		return nil
	}
}

// apply records n on its invitation, then suppresses its recipients.
func apply(ctx context.Context, l *slog.Logger, inv *invitations.Service, list *suppression.Service, n Notification) error {
	var accountID string
	if n.InvitationID != "" {
		rec, err := inv.RecordOutcome(ctx, n.Tenant, invitations.Outcome{InvitationID: n.InvitationID, MessageID: n.MessageID,
			Delivery: n.Delivery, Reason: n.Reason, At: n.At})
		if err != nil {
			return err
		}
		if len(rec.Invitation.AccountIDs) > 0 {
			accountID = rec.Invitation.AccountIDs[0]
		}
		l.InfoContext(ctx, "ses notification recorded", "changed", rec.Changed, "invitationFound", rec.Invitation.ID != "")
	}
	if n.Suppress == "" {
		return nil
	}
	for i, raw := range n.Recipients {
		addr, err := identity.NormalizeEmail(raw)
		if err != nil {
			l.WarnContext(ctx, "ses notification recipient skipped", "recipient", i, "reason", "not an email address")
			continue
		}
		added, err := list.Add(ctx, n.Tenant, suppression.Suppress{Email: addr, Reason: n.Suppress, Detail: n.Reason,
			InvitationID: n.InvitationID, AccountID: accountID, At: n.At})
		if err != nil {
			return err
		}
		l.InfoContext(ctx, "ses notification suppression", "recipient", i, "added", added, "reason", n.Suppress)
	}
	return nil
}
