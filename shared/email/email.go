// Package email sends the service's emails through Amazon SES (SendEmail,
// with a text and an HTML body) and builds their content from templates.
//
// Throttling is retried here, with backoff, a bounded number of times; a
// message SES rejects (MessageRejected) is never retried. Either way the
// caller gets a *DeliveryError saying what happened, so the invitation that
// the email was for can record its delivery failure and be resent.
package email

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// SES is the part of the SES client the service uses, with the SDK's own
// signature so *ses.Client satisfies it.
type SES interface {
	SendEmail(ctx context.Context, in *ses.SendEmailInput, optFns ...func(*ses.Options)) (*ses.SendEmailOutput, error)
}

// Message is one email to one recipient.
type Message struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Sender sends messages from one configured address.
type Sender struct {
	SES  SES
	From string // SENDER_EMAIL
	// Attempts bounds the tries of a throttled or failed send (default 4);
	// Backoff is the first wait, doubled on each retry (default 200ms).
	Attempts int
	Backoff  time.Duration
}

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

const (
	defaultAttempts = 4
	defaultBackoff  = 200 * time.Millisecond
	charset         = "UTF-8"
)

// onlyOurRetries turns the SDK's own retryer off for SendEmail so that the
// policy is the one written here: throttling and outages retried with
// backoff, rejections never.
func onlyOurRetries(o *ses.Options) { o.RetryMaxAttempts = 1 }

// Send sends m and returns SES's message id.
func (s *Sender) Send(ctx context.Context, m Message) (string, error) {
	if s == nil || s.SES == nil || s.From == "" {
		return "", &DeliveryError{Reason: ReasonNotConfigured, Err: errors.New("no SES client or sender address configured")}
	}
	if m.To == "" || m.Subject == "" || (m.Text == "" && m.HTML == "") {
		return "", &DeliveryError{Reason: ReasonInvalid, Err: errors.New("a message needs a recipient, a subject and a body")}
	}
	in := &ses.SendEmailInput{
		Source:      aws.String(s.From),
		Destination: &types.Destination{ToAddresses: []string{m.To}},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String(oneLine(m.Subject)), Charset: aws.String(charset)},
			Body:    &types.Body{},
		},
	}
	if m.Text != "" {
		in.Message.Body.Text = &types.Content{Data: aws.String(m.Text), Charset: aws.String(charset)}
	}
	if m.HTML != "" {
		in.Message.Body.Html = &types.Content{Data: aws.String(m.HTML), Charset: aws.String(charset)}
	}
	attempts := s.Attempts
	if attempts <= 0 {
		attempts = defaultAttempts
	}
	var last *DeliveryError
	for attempt := 1; attempt <= attempts; attempt++ {
		if attempt > 1 {
			if err := s.wait(ctx, attempt); err != nil {
				last.Err = fmt.Errorf("%w (gave up: %v)", last.Err, err)
				return "", last
			}
		}
		out, err := s.SES.SendEmail(ctx, in, onlyOurRetries)
		if err == nil {
			return aws.ToString(out.MessageId), nil
		}
		last = classify(err)
		last.Attempts = attempt
		if last.Permanent() || ctx.Err() != nil {
			return "", last
		}
	}
	return "", last
}

func (s *Sender) wait(ctx context.Context, attempt int) error {
	base := s.Backoff
	if base <= 0 {
		base = defaultBackoff
	}
	d := base << (attempt - 2)
	d = d/2 + rand.N(d/2+1) // jitter, so throttled senders do not retry in step
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// classify sorts an SES error into a delivery failure reason.
func classify(err error) *DeliveryError {
	var rejected *types.MessageRejected
	if errors.As(err, &rejected) {
		return &DeliveryError{Reason: ReasonRejected, Code: "MessageRejected", Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch code {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException":
			return &DeliveryError{Reason: ReasonThrottled, Code: code, Err: err}
		case "MailFromDomainNotVerifiedException", "ConfigurationSetDoesNotExist", "ConfigurationSetSendingPausedException",
			"AccountSendingPausedException", "InvalidParameterValue", "FromEmailAddressNotVerifiedException":
			return &DeliveryError{Reason: ReasonRejected, Code: code, Err: err}
		}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) && resp.HTTPStatusCode() < 500 && resp.HTTPStatusCode() != 429 {
			return &DeliveryError{Reason: ReasonRejected, Code: code, Err: err}
		}
		return &DeliveryError{Reason: ReasonUnavailable, Code: code, Err: err}
	}
	var netErr net.Error
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) || errors.As(err, &netErr) {
		return &DeliveryError{Reason: ReasonUnavailable, Err: err}
	}
	return &DeliveryError{Reason: ReasonUnavailable, Err: err}
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
