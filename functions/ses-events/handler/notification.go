package handler

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/table"
)

// Notification is an SES notification, read and checked: what to record
// and on which invitation.
type Notification struct {
	Tenant       table.Tenant
	InvitationID string // "" when the email was no invitation's (then nothing is recorded but suppressions)
	MessageID    string
	Delivery     string   // invitations.Delivery...
	Reason       string   // SES's word for it
	Suppress     string   // suppression.Reason..., "" when the recipients stay deliverable
	Recipients   []string // the addresses to suppress, as SES wrote them
	At           time.Time
}

// ErrIgnored: a well-formed notification of a kind this function does not
// record (Send, Delivery, Open, ...).
var ErrIgnored = errors.New("not a bounce, complaint, delivery delay or reject")

// sesMessage is the part of SES's notification JSON read here. Event
// publishing (a configuration set's destination) names the kind eventType;
// identity notifications name it notificationType.
type sesMessage struct {
	NotificationType string `json:"notificationType"`
	EventType        string `json:"eventType"`
	Mail             struct {
		Timestamp time.Time           `json:"timestamp"`
		MessageID string              `json:"messageId"`
		Tags      map[string][]string `json:"tags"`
	} `json:"mail"`
	Bounce *struct {
		BounceType        string      `json:"bounceType"`
		BounceSubType     string      `json:"bounceSubType"`
		BouncedRecipients []recipient `json:"bouncedRecipients"`
		Timestamp         time.Time   `json:"timestamp"`
	} `json:"bounce"`
	Complaint *struct {
		ComplainedRecipients  []recipient `json:"complainedRecipients"`
		ComplaintFeedbackType string      `json:"complaintFeedbackType"`
		Timestamp             time.Time   `json:"timestamp"`
	} `json:"complaint"`
	DeliveryDelay *struct {
		DelayType string    `json:"delayType"`
		Timestamp time.Time `json:"timestamp"`
	} `json:"deliveryDelay"`
	Reject *struct {
		Reason string `json:"reason"`
	} `json:"reject"`
}

type recipient struct {
	EmailAddress string `json:"emailAddress"`
}

// maxMessage bounds what is decoded (SNS messages are at most 256 KiB).
const maxMessage = 256 << 10

// Parse reads an SNS message's body as an SES notification. Its errors say
// what is wrong without quoting the message (it holds addresses).
func Parse(message string) (Notification, error) {
	if len(message) > maxMessage {
		return Notification{}, errors.New("message over 256 KiB")
	}
	var m sesMessage
	if err := json.Unmarshal([]byte(message), &m); err != nil {
		return Notification{}, errors.New("message is not SES notification JSON")
	}
	kind := m.EventType
	if kind == "" {
		kind = m.NotificationType
	}
	if m.Mail.MessageID == "" {
		return Notification{}, errors.New("no mail.messageId")
	}
	tenantID, invitationID := tag(m.Mail.Tags, invitations.TagTenant), tag(m.Mail.Tags, invitations.TagInvitation)
	if kind == "" {
		return Notification{}, errors.New("no eventType or notificationType")
	}
	n := Notification{MessageID: m.Mail.MessageID, At: m.Mail.Timestamp}
	switch kind {
	case "Bounce":
		if m.Bounce == nil {
			return Notification{}, errors.New("a Bounce without bounce")
		}
		n.Reason, n.At = m.Bounce.BounceSubType, later(n.At, m.Bounce.Timestamp)
		if m.Bounce.BounceType == "Permanent" {
			n.Delivery, n.Suppress = invitations.DeliveryBounced, suppression.ReasonBounced
			n.Recipients = addresses(m.Bounce.BouncedRecipients)
			if len(n.Recipients) == 0 {
				return Notification{}, errors.New("a permanent bounce without bouncedRecipients")
			}
		} else {
			n.Delivery = invitations.DeliveryBouncedTransient // Transient, Undetermined
		}
	case "Complaint":
		if m.Complaint == nil {
			return Notification{}, errors.New("a Complaint without complaint")
		}
		n.Delivery, n.Suppress, n.Reason = invitations.DeliveryComplained, suppression.ReasonComplained, m.Complaint.ComplaintFeedbackType
		n.At = later(n.At, m.Complaint.Timestamp)
		n.Recipients = addresses(m.Complaint.ComplainedRecipients)
		if len(n.Recipients) == 0 {
			return Notification{}, errors.New("a complaint without complainedRecipients")
		}
	case "DeliveryDelay":
		if m.DeliveryDelay == nil {
			return Notification{}, errors.New("a DeliveryDelay without deliveryDelay")
		}
		n.Delivery, n.Reason, n.At = invitations.DeliveryDelayed, m.DeliveryDelay.DelayType, later(n.At, m.DeliveryDelay.Timestamp)
	case "Reject":
		n.Delivery = invitations.DeliveryRejected
		if m.Reject != nil {
			n.Reason = m.Reject.Reason
		}
	default:
		return Notification{}, fmt.Errorf("%w: %q", ErrIgnored, truncate(kind, 40))
	}
	if tenantID == "" {
		// Not an invitation email of a tenant (the other emails carry no
		// tags): no tenant to record it in.
		return Notification{}, fmt.Errorf("%w: no tenant tag", ErrIgnored)
	}
	t, err := table.ForTenant(tenantID)
	if err != nil {
		return Notification{}, errors.New("the tenant tag is not a tenant id")
	}
	if invitationID != "" && !ids.Valid(invitationID) {
		return Notification{}, errors.New("the invitation tag is not an invitation id")
	}
	if n.At.IsZero() {
		return Notification{}, errors.New("no timestamp")
	}
	n.Tenant, n.InvitationID, n.Reason = t, invitationID, truncate(n.Reason, 64)
	return n, nil
}

// tag is the first value of a message tag, "" when absent.
func tag(tags map[string][]string, name string) string {
	if v := tags[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func addresses(rs []recipient) []string {
	var out []string
	for _, r := range rs {
		if a := strings.TrimSpace(r.EmailAddress); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
