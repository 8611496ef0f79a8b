// Package sesmail sends the service's emails through Amazon SES (SendEmail,
// with a text and an HTML body).
//
// Throttling is retried here, with backoff, a bounded number of times; a
// message SES rejects (MessageRejected) is never retried. Either way the
// caller gets an *email.DeliveryError saying what happened, so the invitation
// that the email was for can record its delivery failure and be resent.
//
// Only the functions that send email (invite, edit) import this package: the
// SES client's package initialisation (its endpoint tables, the XML decoder)
// costs every cold start of a function that links it (see BENCHMARKS.md).
package sesmail

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/mail"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"
	"github.com/aws/aws-sdk-go-v2/service/ses/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/httpapi"
)

// SES is the part of the SES client the service uses, with the SDK's own
// signature so *ses.Client satisfies it.
type SES interface {
	SendEmail(ctx context.Context, in *ses.SendEmailInput, optFns ...func(*ses.Options)) (*ses.SendEmailOutput, error)
}

// Sender sends messages from one configured address.
type Sender struct {
	SES  SES
	From string // SENDER_EMAIL
	// Name is the From address's display name (SENDER_NAME, "" none), as
	// in "Acme Admin" <no-reply@acme.example>.
	Name string
	// ConfigurationSet is the SES configuration set every message is sent
	// through (SES_CONFIGURATION_SET, "" none): its event destinations
	// publish bounces, complaints, delivery delays and rejections, and the
	// message's Tags go with it so that they name the tenant and invitation.
	ConfigurationSet string
	// Attempts bounds the tries of a throttled or failed send (default 4);
	// Backoff is the first wait, doubled on each retry (default 200ms).
	Attempts int
	Backoff  time.Duration
}

// New is the Sender of a function: an SES client built from the function's
// AWS configuration, sending from the address from.
func New(cfg aws.Config, from string) *Sender { return &Sender{SES: Client(cfg), From: from} }

// Options are the sender's settings beside its address, from the
// function's configuration (app.Config).
type Options struct {
	Name             string // SENDER_NAME
	ConfigurationSet string // SES_CONFIGURATION_SET
}

// With is s with the display name and configuration set of o.
func (s *Sender) With(o Options) *Sender {
	s.Name, s.ConfigurationSet = o.Name, o.ConfigurationSet
	return s
}

// Source is the From header: the address, with the display name when one
// is set, encoded by net/mail (quoted, or RFC 2047 for non-ASCII names).
func (s *Sender) Source() string {
	if s.Name == "" {
		return s.From
	}
	return (&mail.Address{Name: oneLine(s.Name), Address: s.From}).String()
}

func oneLine(v string) string { return strings.Join(strings.Fields(v), " ") }

// tagText reports whether SES accepts s as a message tag's name or value:
// 1 to 255 of A-Z, a-z, 0-9, '_' and '-'. (A regexp of it would cost each
// cold start a quarter of a megabyte.)
func tagText(s string) bool {
	if len(s) == 0 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// messageTags are m's tags as SES takes them, in name order; a tag whose
// name or value SES would refuse is left out, so it never costs the send.
func messageTags(tags map[string]string) []types.MessageTag {
	names := make([]string, 0, len(tags))
	for n, v := range tags {
		if tagText(n) && tagText(v) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := make([]types.MessageTag, 0, len(names))
	for _, n := range names {
		out = append(out, types.MessageTag{Name: aws.String(n), Value: aws.String(tags[n])})
	}
	return out
}

// Client is the SES client of cfg, pointed at SES local when
// AWS_ENDPOINT_URL_SES is set; extra options apply after that.
func Client(cfg aws.Config, extra ...func(*ses.Options)) *ses.Client {
	return ses.NewFromConfig(cfg, append([]func(*ses.Options){func(o *ses.Options) {
		if ep := os.Getenv("AWS_ENDPOINT_URL_SES"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	}}, extra...)...)
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

// Send sends m and returns SES's message id. A message it gives up on is
// counted in the request's SESFailures metric (httpapi.CountFailure).
func (s *Sender) Send(ctx context.Context, m email.Message) (string, error) {
	id, err := s.send(ctx, m)
	if err != nil {
		httpapi.CountFailure(ctx, httpapi.MetricSESFailures)
	}
	return id, err
}

func (s *Sender) send(ctx context.Context, m email.Message) (string, error) {
	if s == nil || s.SES == nil || s.From == "" {
		return "", &email.DeliveryError{Reason: email.ReasonNotConfigured, Err: errors.New("no SES client or sender address configured")}
	}
	if err := m.Check(); err != nil {
		return "", err
	}
	in := &ses.SendEmailInput{
		Source:      aws.String(s.Source()),
		Destination: &types.Destination{ToAddresses: []string{m.To}},
		Message: &types.Message{
			Subject: &types.Content{Data: aws.String(m.SubjectLine()), Charset: aws.String(charset)},
			Body:    &types.Body{},
		},
	}
	if m.ReplyTo != "" {
		in.ReplyToAddresses = []string{m.ReplyTo}
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
		in.Tags = messageTags(m.Tags)
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
	var last *email.DeliveryError
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
	return clock.Sleep(ctx, d/2+rand.N(d/2+1)) // jitter, so throttled senders do not retry in step
}

// classify sorts an SES error into a delivery failure reason.
func classify(err error) *email.DeliveryError {
	var rejected *types.MessageRejected
	if errors.As(err, &rejected) {
		return &email.DeliveryError{Reason: email.ReasonRejected, Code: "MessageRejected", Err: err}
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		code := api.ErrorCode()
		switch code {
		case "Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException":
			return &email.DeliveryError{Reason: email.ReasonThrottled, Code: code, Err: err}
		case "MailFromDomainNotVerifiedException", "ConfigurationSetDoesNotExist", "ConfigurationSetSendingPausedException",
			"AccountSendingPausedException", "InvalidParameterValue", "FromEmailAddressNotVerifiedException":
			return &email.DeliveryError{Reason: email.ReasonRejected, Code: code, Err: err}
		}
		var resp *smithyhttp.ResponseError
		if errors.As(err, &resp) && resp.HTTPStatusCode() < 500 && resp.HTTPStatusCode() != 429 {
			return &email.DeliveryError{Reason: email.ReasonRejected, Code: code, Err: err}
		}
		return &email.DeliveryError{Reason: email.ReasonUnavailable, Code: code, Err: err}
	}
	var netErr net.Error
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) || errors.As(err, &netErr) {
		return &email.DeliveryError{Reason: email.ReasonUnavailable, Err: err}
	}
	return &email.DeliveryError{Reason: email.ReasonUnavailable, Err: err}
}
