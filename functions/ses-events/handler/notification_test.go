package handler

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/suppression"
)

// What each kind of SES notification becomes; what cannot be read is an
// error that quotes no address; kinds not recorded are ErrIgnored.
func TestParse(t *testing.T) {
	mail := `"mail":{"timestamp":"2026-11-23T09:00:00.000Z","messageId":"m-1","destination":["a@b.example"],"tags":{"tenant":["acme"],"invitation":["01M8ABC"]}}`
	for name, tc := range map[string]struct {
		msg                        string
		delivery, reason, suppress string
		recipients                 int
		err, ignored               bool
	}{
		"permanent bounce": {msg: `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"NoEmail","bouncedRecipients":[{"emailAddress":"a@b.example"}]},` + mail + `}`,
			delivery: invitations.DeliveryBounced, reason: "NoEmail", suppress: suppression.ReasonBounced, recipients: 1},
		"identity notification": {msg: `{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"a@b.example"}]},` + mail + `}`,
			delivery: invitations.DeliveryBounced, reason: "General", suppress: suppression.ReasonBounced, recipients: 1},
		"transient bounce": {msg: `{"eventType":"Bounce","bounce":{"bounceType":"Transient","bounceSubType":"MailboxFull","bouncedRecipients":[{"emailAddress":"a@b.example"}]},` + mail + `}`,
			delivery: invitations.DeliveryBouncedTransient, reason: "MailboxFull"},
		"complaint": {msg: `{"eventType":"Complaint","complaint":{"complaintFeedbackType":"abuse","complainedRecipients":[{"emailAddress":"a@b.example"}]},` + mail + `}`,
			delivery: invitations.DeliveryComplained, reason: "abuse", suppress: suppression.ReasonComplained, recipients: 1},
		"delay":               {msg: `{"eventType":"DeliveryDelay","deliveryDelay":{"delayType":"TransientCommunicationFailure"},` + mail + `}`, delivery: invitations.DeliveryDelayed, reason: "TransientCommunicationFailure"},
		"reject":              {msg: `{"eventType":"Reject","reject":{"reason":"Bad content"},` + mail + `}`, delivery: invitations.DeliveryRejected, reason: "Bad content"},
		"a delivery":          {msg: `{"eventType":"Delivery",` + mail + `}`, ignored: true},
		"no tenant tag":       {msg: `{"eventType":"Reject","reject":{},"mail":{"timestamp":"2026-11-23T09:00:00Z","messageId":"m-1"}}`, ignored: true},
		"not json":            {msg: `a@b.example bounced`, err: true},
		"no message id":       {msg: `{"eventType":"Reject","reject":{},"mail":{"timestamp":"2026-11-23T09:00:00Z","tags":{"tenant":["acme"]}}}`, err: true},
		"bad tenant":          {msg: `{"eventType":"Reject","reject":{},"mail":{"timestamp":"2026-11-23T09:00:00Z","messageId":"m","tags":{"tenant":["a#b"]}}}`, err: true},
		"bad invitation":      {msg: `{"eventType":"Reject","reject":{},"mail":{"timestamp":"2026-11-23T09:00:00Z","messageId":"m","tags":{"tenant":["acme"],"invitation":["x.y"]}}}`, err: true},
		"bounce, no bounce":   {msg: `{"eventType":"Bounce",` + mail + `}`, err: true},
		"bounce, nobody":      {msg: `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[]},` + mail + `}`, err: true},
		"complaint, nobody":   {msg: `{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":" "}]},` + mail + `}`, err: true},
		"no timestamp":        {msg: `{"eventType":"Reject","reject":{},"mail":{"messageId":"m","tags":{"tenant":["acme"]}}}`, err: true},
		"delay without delay": {msg: `{"eventType":"DeliveryDelay",` + mail + `}`, err: true},
	} {
		t.Run(name, func(t *testing.T) {
			n, err := Parse(tc.msg)
			switch {
			case tc.ignored:
				if err == nil || !strings.Contains(err.Error(), ErrIgnored.Error()) {
					t.Fatalf("want ignored, got %+v %v", n, err)
				}
			case tc.err:
				if err == nil || strings.Contains(err.Error(), ErrIgnored.Error()) || strings.Contains(err.Error(), "@") {
					t.Fatalf("want a malformed error without an address, got %+v %v", n, err)
				}
			case err != nil:
				t.Fatal(err)
			case n.Delivery != tc.delivery || n.Reason != tc.reason || n.Suppress != tc.suppress || len(n.Recipients) != tc.recipients ||
				n.Tenant.ID() != "acme" || n.InvitationID != "01M8ABC" || n.MessageID != "m-1" || n.At.IsZero():
				t.Fatalf("%+v", n)
			}
		})
	}
}
