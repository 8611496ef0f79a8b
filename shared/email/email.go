// Package email is what the service's emails are: a Message, the content
// of each email (the invitation), and why one was not delivered
// (DeliveryError). It does not send: shared/sesmail does, through Amazon SES,
// and only the functions that send email link it (and the SES client).
package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Mailer sends one message and returns its message id; a failure is a
// *DeliveryError. *sesmail.Sender is the one the functions use.
type Mailer interface {
	Send(ctx context.Context, m Message) (string, error)
}

// Message is one email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// ReplyTo is where a reply goes instead of the From address ("" none):
	// an invitation's inviter, when the function is configured so.
	ReplyTo string
	// Tags trace the message back to what it was sent for (tenant,
	// invitation): the sender passes them to SES as message tags when it
	// sends through a configuration set, so that bounce and complaint
	// notifications carry them. Names and values are [A-Za-z0-9_-]
	// (SES's rule; ids.Valid ids fit it); a tag that does not is left out.
	Tags map[string]string
}

// Check says why m cannot be sent (a *DeliveryError), or nil.
func (m Message) Check() error {
	if m.To == "" || m.Subject == "" || (m.Text == "" && m.HTML == "") {
		return &DeliveryError{Reason: ReasonInvalid, Err: errors.New("a message needs a recipient, a subject and a body")}
	}
	return nil
}

// SubjectLine is the subject on one line: a line break in a subject would
// start a new header.
func (m Message) SubjectLine() string { return oneLine(m.Subject) }

// Why an email was not delivered. Reasons are part of the API: an
// invitation's deliveryError shows one of them.
const (
	ReasonRejected      = "rejected"       // SES refused the message (MessageRejected); sending it again will not help
	ReasonThrottled     = "throttled"      // SES kept throttling through every retry; resend later
	ReasonUnavailable   = "unavailable"    // SES or the network failed; resend later
	ReasonNotConfigured = "not_configured" // no sender address is configured
	ReasonInvalid       = "invalid"        // the message itself is not sendable (no recipient, no body)
)

// DeliveryError says why a message was not sent.
type DeliveryError struct {
	Reason   string // one of the Reason constants
	Code     string // the SES error code, when SES answered
	Attempts int    // how many times it was tried
	Err      error  // the cause, for logs
}

func (e *DeliveryError) Error() string {
	msg := "email not sent: " + e.Reason
	if e.Code != "" {
		msg += " (" + e.Code + ")"
	}
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *DeliveryError) Unwrap() error { return e.Err }

// Permanent reports a failure that resending the same message will not fix.
func (e *DeliveryError) Permanent() bool {
	return e.Reason == ReasonRejected || e.Reason == ReasonInvalid || e.Reason == ReasonNotConfigured
}

// AsDeliveryError returns the *DeliveryError inside err, if any.
func AsDeliveryError(err error) (*DeliveryError, bool) {
	var d *DeliveryError
	ok := errors.As(err, &d)
	return d, ok
}

// oneLine keeps a subject on one line: a line break in a subject would start
// a new header.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' {
			return ' '
		}
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
