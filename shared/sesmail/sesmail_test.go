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
