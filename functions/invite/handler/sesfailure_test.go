package handler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/acme/accountadmin/functions/invite/handler"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/testkit"
)

// An email SES does not take, after the sender's retries, is counted in the
// request's metric line (SESFailures), which the SES failure alarm reads;
// a request whose email went out counts none.
func TestAnEmailSESRefusesIsCountedInTheRequestLine(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	faults := &sesmail.FaultInjector{}
	refused := unique("throttled")
	faults.Add(sesmail.Fault{Recipient: refused, Code: "Throttling"}) // every try to that address
	logs := &testkit.LogBuffer{}
	d := env.Deps
	d.Log = httpapi.NewLogger(logs)
	d.Mail = &sesmail.Sender{SES: awsclient.SES(env.AWS, faults.Option()), From: env.Config.Sender, Attempts: 2, Backoff: time.Millisecond}
	invite := handler.New(d.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}

	send := func(requestID, email string) map[string]any {
		t.Helper()
		req := httpapi.Request{RouteKey: "POST /accounts/{accountId}/invitations", RawPath: "/accounts/" + ten.AccountID + "/invitations",
			Body: inviteBody(email), Headers: map[string]string{"content-type": "application/json"},
			PathParameters: map[string]string{"accountId": ten.AccountID}}
		req.RequestContext.RequestID = requestID
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "lambda-" + requestID})
		resp, err := invite(ctx, testkit.As(t, req, admin))
		if err != nil || resp.StatusCode >= 500 {
			t.Fatalf("%s: %d %v %s", requestID, resp.StatusCode, err, resp.Body)
		}
		for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["message"] == "request" && m["requestId"] == requestID {
				return m
			}
		}
		t.Fatalf("no request line for %s:\n%s", requestID, logs.String())
		return nil
	}

	if line := send("gw-ses-refused", refused); line["SESFailures"] != float64(1) || line["Faults"] != float64(0) {
		t.Fatalf("refused email: SESFailures %v Faults %v, want 1 and 0: %v", line["SESFailures"], line["Faults"], line)
	}
	if faults.Injected() != 2 {
		t.Fatalf("SES was tried %d times, want the sender's 2", faults.Injected())
	}
	if line := send("gw-ses-sent", unique("sent")); line["SESFailures"] != float64(0) {
		t.Fatalf("sent email: SESFailures %v, want 0: %v", line["SESFailures"], line)
	}
	if strings.Contains(logs.String(), refused) {
		t.Fatal("the logs contain the refused address")
	}
}
