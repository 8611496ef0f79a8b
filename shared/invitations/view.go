package invitations

import (
	"context"
	"slices"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Person names someone in a view.
type Person struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// View is an invitation as the API shows it (never its token or hash).
type View struct {
	ID            string     `json:"id"`
	Email         string     `json:"email"`
	AccountIDs    []string   `json:"accountIds"`
	Roles         []string   `json:"roles"`
	Status        string     `json:"status"`
	Message       string     `json:"message,omitempty"`
	Inviter       Person     `json:"inviter"`
	CreatedAt     time.Time  `json:"createdAt"`
	SentAt        time.Time  `json:"sentAt"`
	ExpiresAt     time.Time  `json:"expiresAt"`
	Sends         int        `json:"sends"`
	Delivery      string     `json:"delivery"`
	DeliveryError string     `json:"deliveryError,omitempty"`
	AcceptedAt    *time.Time `json:"acceptedAt,omitempty"`
	AcceptedBy    string     `json:"acceptedBy,omitempty"`
	RevokedAt     *time.Time `json:"revokedAt,omitempty"`
	RevokedBy     string     `json:"revokedBy,omitempty"`
	ExpiredAt     *time.Time `json:"expiredAt,omitempty"`
	Version       int64      `json:"version"`
}

// ViewOf shows inv as of now: a pending invitation past its expiry is shown
// as expired even before the expiry job has marked it, because the accept
// path already refuses it.
func ViewOf(inv Invitation, now time.Time) View {
	v := View{ID: inv.ID, Email: inv.Email, AccountIDs: inv.AccountIDs, Roles: inv.Roles, Status: inv.Status, Message: inv.Message,
		Inviter:   Person{ID: inv.InviterID, Name: inv.InviterName, Email: inv.InviterEmail},
		CreatedAt: inv.CreatedAt, SentAt: epoch(inv.SentAt), ExpiresAt: inv.Expiry(), Sends: inv.Sends,
		Delivery: inv.Delivery, DeliveryError: inv.DeliveryError, AcceptedBy: inv.AcceptedBy, RevokedBy: inv.RevokedBy,
		AcceptedAt: epochPtr(inv.AcceptedAt), RevokedAt: epochPtr(inv.RevokedAt), ExpiredAt: epochPtr(inv.ExpiredAt), Version: inv.Version}
	if v.Roles == nil {
		v.Roles = []string{}
	}
	if inv.Status == StatusPending && now.Unix() >= inv.ExpiresAt {
		v.Status = StatusExpired
	}
	return v
}

func epoch(s int64) time.Time { return time.Unix(s, 0).UTC() }

func epochPtr(s int64) *time.Time {
	if s == 0 {
		return nil
	}
	t := epoch(s)
	return &t
}

// usable says whether token opens inv now, and if not, why, in words the
// invitee can act on: an unknown link is 404; a used, withdrawn, expired or
// replaced one is 410 and says what happened and whom to ask. Its dates are
// in UTC; usableForInvitee writes them in the tenant's zone.
func usable(inv Invitation, token string, now time.Time) error {
	return usableIn(inv, token, now, time.UTC)
}

// usableForInvitee is usable with the dates of its answer in the tenant's
// time zone (the invitee has no setting of their own yet). The settings are
// read only when the answer is a refusal that shows a date, so a usable link
// costs no read more.
func (s *Service) usableForInvitee(ctx context.Context, t table.Tenant, inv Invitation, token string, now time.Time) error {
	err := usable(inv, token, now)
	if e, ok := apperr.As(err); !ok || !slices.Contains(datedRefusals, e.Code) {
		return err
	}
	var settings tenancy.Settings
	if ok, gerr := s.Store.Get(ctx, t.Settings(), &settings); gerr != nil || !ok {
		return err // the refusal in UTC rather than none
	}
	return usableIn(inv, token, now, email.Zone(settings.TimeZone))
}

// datedRefusals are the codes of the refusals whose detail shows a date.
var datedRefusals = []string{ErrReplaced.Code, ErrAccepted.Code, ErrRevoked.Code, ErrExpired.Code}

// usableIn is usable with the dates written in zone.
func usableIn(inv Invitation, token string, now time.Time, zone *time.Location) error {
	if !sameHash(token, inv.TokenHash) {
		replaced := false
		for _, h := range inv.ReplacedLinks {
			if sameHash(token, h) {
				replaced = true
			}
		}
		if !replaced {
			return ErrNotFound
		}
		if inv.Status == StatusPending {
			return ErrReplaced.Withf("this link was replaced by a newer invitation email sent on %s; use the link in that email",
				email.FormatInstantIn(epoch(inv.SentAt), zone)).With("sentAt", epoch(inv.SentAt))
		}
	}
	return stateErrorIn(inv, now, zone)
}

// stateErrorIn is nil for a pending invitation before its expiry, else the
// 410 that says what happened to it, with its dates written in zone.
func stateErrorIn(inv Invitation, now time.Time, zone *time.Location) error {
	ask := askWhom(inv)
	switch inv.Status {
	case StatusAccepted:
		return ErrAccepted.Withf("this invitation was already accepted on %s; sign in with the email address %s",
			email.FormatInstantIn(epoch(inv.AcceptedAt), zone), inv.Email).With("acceptedAt", epoch(inv.AcceptedAt))
	case StatusRevoked:
		return ErrRevoked.Withf("this invitation was withdrawn on %s; if you still need access, ask %s to invite you again",
			email.FormatInstantIn(epoch(inv.RevokedAt), zone), ask).With("revokedAt", epoch(inv.RevokedAt)).With("inviter", inviterOf(inv))
	case StatusExpired:
		return expired(inv, ask, zone)
	case StatusPending:
		if now.Unix() >= inv.ExpiresAt {
			return expired(inv, ask, zone)
		}
		return nil
	default:
		return apperr.Internal("invitation state", errUnknownStatus(inv.Status))
	}
}

func expired(inv Invitation, ask string, zone *time.Location) error {
	return ErrExpired.Withf("this invitation expired on %s; ask %s to send you a new one", email.FormatInstantIn(inv.Expiry(), zone), ask).
		With("expiredAt", inv.Expiry()).With("inviter", inviterOf(inv))
}

func inviterOf(inv Invitation) Person {
	return Person{Name: inv.InviterName, Email: inv.InviterEmail}
}

func askWhom(inv Invitation) string {
	switch {
	case inv.InviterName != "" && inv.InviterEmail != "":
		return inv.InviterName + " (" + inv.InviterEmail + ")"
	case inv.InviterEmail != "":
		return inv.InviterEmail
	case inv.InviterName != "":
		return inv.InviterName
	default:
		return "an administrator of the account"
	}
}

type errUnknownStatus string

func (e errUnknownStatus) Error() string { return "unknown invitation status " + string(e) }
