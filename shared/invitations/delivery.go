package invitations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/caps"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// The message tags of an invitation email (email.Message.Tags): SES
// returns them in its bounce and complaint notifications.
const (
	TagTenant     = "tenant"
	TagInvitation = "invitation"
)

// deliver emails the link of a committed invitation and records the outcome
// on the invitation: "sent", or "failed" with the reason (the invitation
// stays pending and can be resent). The record is conditioned on the link
// still being the one sent, so a slow send never overwrites the state of a
// newer resend. It returns the delivery state and error reason.
func (s *Service) deliver(ctx context.Context, t table.Tenant, inv Invitation, token string, ic inviteContext) (string, string) {
	names := make([]string, 0, len(inv.AccountIDs))
	for _, a := range inv.AccountIDs {
		if acc, ok := ic.accounts[a]; ok && acc.Name != "" {
			names = append(names, acc.Name)
		} else {
			names = append(names, a)
		}
	}
	delivery, reason, messageID := DeliverySent, "", ""
	msg, err := email.Invitation{To: inv.Email, InviterName: inv.InviterName, InviterEmail: inv.InviterEmail,
		ProductName: ic.settings.Name, Accounts: names, Roles: inv.Roles, Message: inv.Message,
		AcceptURL: s.link(token), ExpiresAt: inv.Expiry(), Zone: email.Zone(ic.settings.TimeZone)}.Render()
	if err == nil {
		msg.Tags = map[string]string{TagTenant: t.ID(), TagInvitation: inv.ID} // ids are ids.Valid: SES's tag alphabet
		if s.ReplyToInviter {
			msg.ReplyTo = inv.InviterEmail // the inviter's verified address, on the invitation already
		}
		if s.Mail == nil {
			err = &email.DeliveryError{Reason: email.ReasonNotConfigured, Err: errors.New("no mailer configured")}
		} else {
			messageID, err = s.Mail.Send(ctx, msg)
		}
	}
	if err != nil {
		delivery, reason = DeliveryFailed, email.ReasonUnavailable
		code := ""
		if d, ok := email.AsDeliveryError(err); ok {
			reason, code = d.Reason, d.Code
		}
		// Never log the message or the link: the link holds the token.
		s.log().WarnContext(ctx, "invitation email not sent", "tenantId", t.ID(), "invitationId", inv.ID,
			"reason", reason, "sesCode", code, "error", err.Error())
	}
	upd := expression.Set(expression.Name("delivery"), expression.Value(delivery))
	if reason != "" {
		upd = upd.Set(expression.Name("deliveryError"), expression.Value(reason))
	} else {
		upd = upd.Remove(expression.Name("deliveryError"))
	}
	if messageID != "" {
		upd = upd.Set(expression.Name("messageId"), expression.Value(messageID))
	}
	err = s.Store.Do(ctx, "record delivery of invitation "+inv.ID,
		store.Update(t.Invitation(inv.ID), upd).If(store.Is("tokenHash", inv.TokenHash)).OrFail(errChanged))
	if err != nil && !errors.Is(err, errChanged) {
		s.log().ErrorContext(ctx, "recording invitation delivery failed", "tenantId", t.ID(), "invitationId", inv.ID, "error", err.Error())
	}
	return delivery, reason
}

// Rate limits: one counter item per inviter and per account and UTC hour,
// raised with ADD under the condition that it stays within the limit. The
// counters of a request are raised in one transaction before anything is
// created, so a request either fits entirely or is refused with 429 and
// nothing is written; what a request reserved but did not use is given back.

//
// The tenant-wide caps (caps.go) are raised in the same transaction: every
// invitation counts against caps.Invitations, and every target account of an
// invitation offering Admin against caps.Admins (admins of them).

func (s *Service) reserveQuota(ctx context.Context, t table.Tenant, settings tenancy.Settings, inviterID string, perAccount map[string]int, total, admins int, now time.Time) error {
	if total == 0 {
		return nil
	}
	lim := s.limits()
	hour := now.Truncate(time.Hour)
	next := hour.Add(time.Hour)
	retry := int64(next.Sub(now).Seconds() + 0.999)
	zone := email.Zone(settings.TimeZone) // the inviter reads it; the settings are loaded already
	inviterErr := ErrRateLimited.Withf("you can send at most %d invitations per hour; try again after %s",
		lim.PerInviterPerHour, email.FormatInstantIn(next, zone)).With("retryAfterSeconds", retry).With("limit", lim.PerInviterPerHour)
	if total > lim.PerInviterPerHour {
		return inviterErr
	}
	writes := []*store.Write{caps.Counter(t.InviterQuota(inviterID, hour), total, lim.PerInviterPerHour, next, inviterErr)}
	for a, n := range perAccount {
		accountErr := ErrRateLimited.Withf("account %s can receive at most %d invitations per hour; try again after %s",
			a, lim.PerAccountPerHour, email.FormatInstantIn(next, zone)).With("retryAfterSeconds", retry).With("limit", lim.PerAccountPerHour)
		if n > lim.PerAccountPerHour {
			return accountErr
		}
		writes = append(writes, caps.Counter(t.AccountInviteQuota(a, hour), n, lim.PerAccountPerHour, next, accountErr),
			accounts.Open(t, a)) // the account's counter is in its partition
	}
	writes = append(writes, caps.Invitations.WithRefusal(ErrRateLimited).Reserve(t, settings, total, now))
	if admins > 0 {
		writes = append(writes, caps.Admins.Reserve(t, settings, admins, now))
	}
	if err := s.Store.Transact(ctx, "reserve invitation quota", writes...); err != nil {
		return err
	}
	return nil
}

// quotaWrites are the counter updates of one resend, for its transaction.
func (s *Service) quotaWrites(t table.Tenant, settings tenancy.Settings, inviterID string, accountIDs []string, now time.Time) []*store.Write {
	lim := s.limits()
	hour := now.Truncate(time.Hour)
	next := hour.Add(time.Hour)
	retry := int64(next.Sub(now).Seconds() + 0.999)
	zone := email.Zone(settings.TimeZone)
	writes := []*store.Write{caps.Counter(t.InviterQuota(inviterID, hour), 1, lim.PerInviterPerHour, next,
		ErrRateLimited.Withf("you can send at most %d invitations per hour; try again after %s", lim.PerInviterPerHour,
			email.FormatInstantIn(next, zone)).With("retryAfterSeconds", retry).With("limit", lim.PerInviterPerHour))}
	for _, a := range accountIDs {
		writes = append(writes, caps.Counter(t.AccountInviteQuota(a, hour), 1, lim.PerAccountPerHour, next,
			ErrRateLimited.Withf("account %s can receive at most %d invitations per hour; try again after %s", a,
				lim.PerAccountPerHour, email.FormatInstantIn(next, zone)).With("retryAfterSeconds", retry).With("limit", lim.PerAccountPerHour)))
	}
	return append(writes, caps.Invitations.WithRefusal(ErrRateLimited).Reserve(t, settings, 1, now))
}

// releaseQuota gives back what a request reserved but did not create. It is
// best effort: a failure only makes the limit slightly stricter this hour.
func (s *Service) releaseQuota(ctx context.Context, t table.Tenant, inviterID string, perAccount map[string]int, total, admins int, now time.Time) {
	hour := now.Truncate(time.Hour)
	give := func(k table.Key, n int) {
		if err := s.Store.Do(ctx, "release invitation quota", caps.Release(k, n)); err != nil {
			s.log().WarnContext(ctx, "releasing invitation quota failed", "error", err.Error())
		}
	}
	give(t.InviterQuota(inviterID, hour), total)
	for a, n := range perAccount {
		give(t.AccountInviteQuota(a, hour), n)
	}
	give(t.TenantInviteQuota(hour), total)
	if admins > 0 {
		give(t.AdminsCreated(hour), admins)
	}
}

func (s *Service) limits() Limits {
	l := s.Limits
	if l.PerInviterPerHour <= 0 {
		l.PerInviterPerHour = DefaultLimits.PerInviterPerHour
	}
	if l.PerAccountPerHour <= 0 {
		l.PerAccountPerHour = DefaultLimits.PerAccountPerHour
	}
	return l
}

// describe is a short label of an invitation for wrapped errors.
func describe(inv Invitation) string { return fmt.Sprintf("invitation %s", inv.ID) }
