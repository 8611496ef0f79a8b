package sesmail_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/testkit"
)

// The sender against SES local, with faults injected at the SDK's HTTP edge.
func TestSenderRetriesThrottlingNotRejection(t *testing.T) {
	testkit.Require(t)
	ctx := context.Background()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	faults := &sesmail.FaultInjector{}
	client := awsclient.SES(cfg, faults.Option())
	sender := &sesmail.Sender{SES: client, From: "no-reply@test.example", Backoff: time.Millisecond}
	inbox := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
	to := func(name string) string { return strings.ToLower(name + "-" + ids.NewSecret()[:8] + "@sender.example") }

	t.Run("throttled twice, then sent", func(t *testing.T) {
		addr := to("throttled")
		faults.Add(sesmail.Fault{Recipient: addr, Code: "Throttling", Times: 2})
		id, err := sender.Send(ctx, email.Message{To: addr, Subject: "Hello", Text: "text", HTML: "<p>html</p>"})
		if err != nil || id == "" {
			t.Fatalf("send: %q %v", id, err)
		}
		got, err := inbox.To(ctx, addr)
		if err != nil || len(got) != 1 || got[0].Body.Text != "text" || got[0].Body.HTML != "<p>html</p>" {
			t.Fatalf("inbox: %+v %v", got, err)
		}
	})
	t.Run("throttled throughout", func(t *testing.T) {
		addr := to("always-throttled")
		faults.Add(sesmail.Fault{Recipient: addr, Code: "Throttling"})
		_, err := sender.Send(ctx, email.Message{To: addr, Subject: "Hello", Text: "text"})
		d, ok := email.AsDeliveryError(err)
		if !ok || d.Reason != email.ReasonThrottled || d.Attempts != 4 || d.Permanent() {
			t.Fatalf("want throttled after 4 attempts, got %v", err)
		}
	})
	t.Run("rejected, not retried", func(t *testing.T) {
		addr := to("rejected")
		before := faults.Injected()
		faults.Add(sesmail.Fault{Recipient: addr, Code: "MessageRejected"})
		_, err := sender.Send(ctx, email.Message{To: addr, Subject: "Hello", Text: "text"})
		d, ok := email.AsDeliveryError(err)
		if !ok || d.Reason != email.ReasonRejected || d.Code != "MessageRejected" || d.Attempts != 1 || !d.Permanent() {
			t.Fatalf("want rejected once, got %v", err)
		}
		if faults.Injected()-before != 1 {
			t.Fatalf("MessageRejected was retried: %d calls", faults.Injected()-before)
		}
		if got, _ := inbox.To(ctx, addr); len(got) != 0 {
			t.Fatal("a rejected message reached the inbox")
		}
	})
	t.Run("not configured", func(t *testing.T) {
		_, err := (&sesmail.Sender{SES: client}).Send(ctx, email.Message{To: "a@b.example", Subject: "s", Text: "t"})
		if d, ok := email.AsDeliveryError(err); !ok || d.Reason != email.ReasonNotConfigured {
			t.Fatalf("got %v", err)
		}
	})
}

// The SDK client satisfies the small interface.
var _ sesmail.SES = (*ses.Client)(nil)

// Locally the client goes to SES local; in AWS (nothing set), to the SDK's
// regional endpoint.
func TestNewUsesTheLocalEndpointWhenSet(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1"}
	endpoint := func() *string { return sesmail.New(cfg, "a@b.example").SES.(*ses.Client).Options().BaseEndpoint }
	t.Setenv(awsclient.EnvSESEndpoint, "")
	if ep := endpoint(); ep != nil {
		t.Fatalf("no local endpoint set, yet the client has %v", aws.ToString(ep))
	}
	t.Setenv(awsclient.EnvSESEndpoint, "http://127.0.0.1:8005")
	if ep := aws.ToString(endpoint()); ep != "http://127.0.0.1:8005" {
		t.Fatalf("local endpoint: %q", ep)
	}
}

// recordingSES passes every call to SES local and keeps its input, so a
// test can see what SES local does not store (configuration set, tags).
type recordingSES struct {
	sesmail.SES
	last *ses.SendEmailInput
}

func (r *recordingSES) SendEmail(ctx context.Context, in *ses.SendEmailInput, optFns ...func(*ses.Options)) (*ses.SendEmailOutput, error) {
	r.last = in
	return r.SES.SendEmail(ctx, in, optFns...)
}

// The From display name (net/mail encoded, RFC 2047 when not ASCII) and
// the Reply-To arrive at SES local; with a configuration set the message
// tags go along, those SES would refuse left out.
func TestSenderNameReplyToAndConfigurationSet(t *testing.T) {
	testkit.Require(t)
	ctx := context.Background()
	cfg, err := awsclient.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingSES{SES: awsclient.SES(cfg)}
	inbox := email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)}
	for name, tc := range map[string]struct{ name, from string }{
		"ascii":    {"Acme Admin", `"Acme Admin" <no-reply@test.example>`},
		"accented": {"Acmé Admin", `=?utf-8?q?Acm=C3=A9_Admin?= <no-reply@test.example>`},
		"none":     {"", `no-reply@test.example`},
	} {
		t.Run(name, func(t *testing.T) {
			sender := (&sesmail.Sender{SES: rec, From: "no-reply@test.example"}).With(sesmail.Options{Name: tc.name, ConfigurationSet: "accountadmin-test"})
			addr := strings.ToLower("named-" + ids.NewSecret()[:8] + "@sender.example")
			_, err := sender.Send(ctx, email.Message{To: addr, Subject: "Hello", Text: "text", ReplyTo: "inviter@sender.example",
				Tags: map[string]string{"tenant": "acme", "invitation": "01M8ABC", "bad": "not allowed!"}})
			if err != nil {
				t.Fatal(err)
			}
			got, err := inbox.To(ctx, addr)
			if err != nil || len(got) != 1 {
				t.Fatalf("inbox: %+v %v", got, err)
			}
			if got[0].From != tc.from || len(got[0].ReplyTo) != 1 || got[0].ReplyTo[0] != "inviter@sender.example" {
				t.Fatalf("From %q, Reply-To %v", got[0].From, got[0].ReplyTo)
			}
			if aws.ToString(rec.last.ConfigurationSetName) != "accountadmin-test" || len(rec.last.Tags) != 2 ||
				aws.ToString(rec.last.Tags[0].Name) != "invitation" || aws.ToString(rec.last.Tags[1].Value) != "acme" {
				t.Fatalf("configuration set %v, tags %+v", aws.ToString(rec.last.ConfigurationSetName), rec.last.Tags)
			}
		})
	}
	t.Run("no configuration set: no tags", func(t *testing.T) {
		sender := &sesmail.Sender{SES: rec, From: "no-reply@test.example"}
		if _, err := sender.Send(ctx, email.Message{To: "plain@sender.example", Subject: "s", Text: "t", Tags: map[string]string{"tenant": "acme"}}); err != nil {
			t.Fatal(err)
		}
		if rec.last.ConfigurationSetName != nil || len(rec.last.Tags) != 0 || len(rec.last.ReplyToAddresses) != 0 {
			t.Fatalf("%+v", rec.last)
		}
	})
}
