package handler_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/functions/ses-events/handler"
	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/sesmail"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/testkit"
)

type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, body string) (int, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// fixture: a tenant whose emails go through SES local with a display
// name, a configuration set and Reply-To the inviter, served by the local
// HTTP API; its Admin and an operator as clients.
type fixture struct {
	env      *testkit.Env
	ten      testkit.Tenant
	admin    client
	operator client
	inbox    email.LocalInbox
	feed     handler.Handler
}

func setup(t *testing.T) fixture {
	env := testkit.New(t)
	env.Deps.Mail = &sesmail.Sender{SES: env.SES, From: "no-reply@test.example", Name: "Acme Admin", ConfigurationSet: "accountadmin-test"}
	env.Deps.Config.ReplyToInviter = true
	ten := env.NewTenant(t)
	srv := httptest.NewServer(api.New(env.Deps))
	t.Cleanup(srv.Close)
	op := env.AddOperator(t, ten)
	return fixture{env: env, ten: ten,
		admin:    client{t: t, base: srv.URL, token: env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, AccountID: ten.AccountID})},
		operator: client{t: t, base: srv.URL, token: env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: op.ID, AccountID: ten.AccountID})},
		inbox:    email.LocalInbox{Endpoint: os.Getenv(awsclient.EnvSESEndpoint)},
		feed:     handler.New(env.Service()),
	}
}

func unique(label string) string {
	return strings.ToLower(label + "-" + strings.NewReplacer("_", "x", "-", "x").Replace(ids.NewSecret()[:10]) + "@bounce.example")
}

// invite invites addr with an email and returns the invitation id and the
// SES message id of the email, read back from SES local's inbox.
func (f fixture) invite(t *testing.T, addr string) (string, email.StoredEmail) {
	t.Helper()
	status, body := f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", `{"emails":["`+addr+`"]}`)
	if status != http.StatusCreated {
		t.Fatalf("invite: %d %s", status, body)
	}
	var res invitations.InviteResult
	_ = json.Unmarshal([]byte(body), &res)
	got, err := f.inbox.To(context.Background(), addr)
	if err != nil || len(got) != 1 || got[0].MessageID == "" {
		t.Fatalf("inbox: %+v %v", got, err)
	}
	return res.Results[0].InvitationID, got[0]
}

// sample is events/ses-events/<name> with its placeholders filled.
func sample(t *testing.T, name, tenant, invitationID, messageID, recipient string) events.SNSEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "ses-events", name))
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("${TENANT}", tenant, "${SES_INVITATION_ID}", invitationID, "${SES_MESSAGE_ID}", messageID,
		"${SES_RECIPIENT}", recipient).Replace(string(raw))
	var ev events.SNSEvent
	if err := json.Unmarshal([]byte(text), &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// invitation is the invitation as GET /accounts/{id}/invitations lists it.
func (f fixture) invitation(t *testing.T, id string) invitations.View {
	t.Helper()
	status, body := f.admin.do("GET", "/accounts/"+f.ten.AccountID+"/invitations", "")
	var page invitations.ListPage
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("list: %d %s", status, body)
	}
	for _, v := range page.Invitations {
		if v.ID == id {
			return v
		}
	}
	t.Fatalf("invitation %s not listed: %s", id, body)
	return invitations.View{}
}

// userRow is the invitation's row in GET /accounts/{id}/users.
func (f fixture) userRow(t *testing.T, id string) map[string]any {
	t.Helper()
	status, body := f.admin.do("GET", "/accounts/"+f.ten.AccountID+"/users", "")
	var page struct{ Members []map[string]any }
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("users: %d %s", status, body)
	}
	for _, m := range page.Members {
		if m["invitationId"] == id {
			return m
		}
	}
	t.Fatalf("invitation %s not in the users list: %s", id, body)
	return nil
}

func (f fixture) suppressions(t *testing.T) []suppression.Entry {
	t.Helper()
	status, body := f.operator.do("GET", "/tenant/suppressions", "")
	var page suppression.Page
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("suppressions: %d %s", status, body)
	}
	return page.Suppressions
}

// tenantChanges counts the tenant-level log's entries of action.
func (f fixture) tenantChanges(t *testing.T, action string) int {
	t.Helper()
	status, body := f.operator.do("GET", "/tenant/changes?limit=200", "")
	var page struct{ Changes []struct{ Action string } }
	if err := json.Unmarshal([]byte(body), &page); status != 200 || err != nil {
		t.Fatalf("tenant changes: %d %s", status, body)
	}
	n := 0
	for _, c := range page.Changes {
		if c.Action == action {
			n++
		}
	}
	return n
}

func problemCode(t *testing.T, body string) (string, string) {
	t.Helper()
	var p struct{ Code, Detail string }
	_ = json.Unmarshal([]byte(body), &p)
	return p.Code, p.Detail
}

// The bounce path end to end (SES local does not bounce, so SES's
// notification is fed from events/ with the real message id and tags).
func TestAPermanentBounceSuppressesTheAddressUntilAnOperatorRemovesIt(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addr := unique("bounce")
	id, sent := f.invite(t, addr)

	// The email: From with its display name, Reply-To the inviter.
	if sent.From != `"Acme Admin" <no-reply@test.example>` {
		t.Fatalf("From %q", sent.From)
	}
	if len(sent.ReplyTo) != 1 || sent.ReplyTo[0] != f.ten.AdminEmail {
		t.Fatalf("Reply-To %v, want the inviter %s", sent.ReplyTo, f.ten.AdminEmail)
	}

	bounce := sample(t, "bounce.json", f.ten.ID(), id, sent.MessageID, addr)
	if err := f.feed(ctx, bounce); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryBounced || v.DeliveryError != "General" {
		t.Fatalf("invitation delivery %q %q, want bounced General", v.Delivery, v.DeliveryError)
	}
	if row := f.userRow(t, id); row["delivery"] != invitations.DeliveryBounced || row["deliveryError"] != "General" {
		t.Fatalf("users list row %v", row)
	}
	list := f.suppressions(t)
	if len(list) != 1 || list[0].Email != addr || list[0].Reason != suppression.ReasonBounced || list[0].InvitationID != id {
		t.Fatalf("suppression list %+v", list)
	}
	logged := f.env.Changes(t, f.ten.Tenant, f.ten.AccountID, "invitation.bounced")
	if len(logged) != 1 || logged[0].Actor != changelog.System("ses-events") || logged[0].SubjectID != id {
		t.Fatalf("change log %+v", logged)
	}
	if n := f.tenantChanges(t, "email.suppressed"); n != 1 {
		t.Fatalf("%d email.suppressed entries", n)
	}

	// Account admins do not read or change the list.
	if status, body := f.admin.do("GET", "/tenant/suppressions", ""); status != 403 {
		t.Fatalf("admin reads the list: %d %s", status, body)
	}
	if status, body := f.admin.do("DELETE", "/tenant/suppressions/"+url.PathEscape(addr), ""); status != 403 {
		t.Fatalf("admin removes from the list: %d %s", status, body)
	}

	// Resending, or inviting the address again, is refused and sends nothing.
	status, body := f.admin.do("POST", "/invitations/"+id+"/resend", "")
	if code, detail := problemCode(t, body); status != 409 || code != "address_suppressed" || !strings.Contains(detail, "bounced") ||
		!strings.Contains(detail, "operator") {
		t.Fatalf("resend: %d %s", status, body)
	}
	if v := f.invitation(t, id); v.Sends != 1 || v.Delivery != invitations.DeliveryBounced {
		t.Fatalf("the refused resend changed the invitation: %+v", v)
	}
	status, body = f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", `{"emails":["`+strings.ToUpper(addr)+`"]}`)
	if code, _ := problemCode(t, body); status != 409 || code != "address_suppressed" {
		t.Fatalf("invite again: %d %s", status, body)
	}
	other := unique("other")
	status, body = f.admin.do("POST", "/accounts/"+f.ten.AccountID+"/invitations", `{"emails":["`+addr+`","`+other+`"]}`)
	var bulk invitations.InviteResult
	_ = json.Unmarshal([]byte(body), &bulk)
	if status != 201 || len(bulk.Results) != 2 || bulk.Results[0].Result != invitations.ResultSuppressed ||
		!strings.Contains(bulk.Results[0].Detail, "bounced") || bulk.Results[1].Result != invitations.ResultCreated {
		t.Fatalf("bulk invite: %d %s", status, body)
	}
	if got, _ := f.inbox.To(ctx, addr); len(got) != 1 {
		t.Fatalf("%d emails to the suppressed address", len(got))
	}

	// The same notification again changes nothing.
	if err := f.feed(ctx, bounce); err != nil {
		t.Fatal(err)
	}
	if n := len(f.env.Changes(t, f.ten.Tenant, f.ten.AccountID, "invitation.bounced")); n != 1 {
		t.Fatalf("%d invitation.bounced entries after a second feed", n)
	}
	if n := f.tenantChanges(t, "email.suppressed"); n != 1 || len(f.suppressions(t)) != 1 {
		t.Fatalf("a second feed suppressed again: %d entries", n)
	}

	// The operator removes it; then a resend goes out.
	if status, body := f.operator.do("DELETE", "/tenant/suppressions/"+url.PathEscape(addr), ""); status != 204 {
		t.Fatalf("remove: %d %s", status, body)
	}
	if status, body := f.operator.do("DELETE", "/tenant/suppressions/"+url.PathEscape(addr), ""); status != 404 ||
		!strings.Contains(body, "not_suppressed") {
		t.Fatalf("remove again: %d %s", status, body)
	}
	if n := f.tenantChanges(t, "email.unsuppressed"); n != 1 || len(f.suppressions(t)) != 0 {
		t.Fatalf("after removal: %d email.unsuppressed entries, list %+v", n, f.suppressions(t))
	}
	if status, body := f.admin.do("POST", "/invitations/"+id+"/resend", ""); status != 200 {
		t.Fatalf("resend after removal: %d %s", status, body)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliverySent || v.DeliveryError != "" {
		t.Fatalf("after the resend: %q %q", v.Delivery, v.DeliveryError)
	}
	if got, _ := f.inbox.To(ctx, addr); len(got) != 2 {
		t.Fatalf("%d emails after the resend, want 2", len(got))
	}
}

func TestAComplaintSuppressesTheAddress(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addr := unique("complaint")
	id, sent := f.invite(t, addr)
	complaint := sample(t, "complaint.json", f.ten.ID(), id, sent.MessageID, addr)
	// First through the local API's stand-in for the SNS subscription
	// (POST /_local/ses-events), then again to the handler: the second
	// changes nothing.
	raw, _ := json.Marshal(complaint)
	resp, err := http.Post(f.admin.base+api.SESEventsPath, "application/json", strings.NewReader(string(raw)))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("POST %s: %v %v", api.SESEventsPath, resp, err)
	}
	resp.Body.Close()
	if err := f.feed(ctx, complaint); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryComplained || v.DeliveryError != "abuse" {
		t.Fatalf("delivery %q %q", v.Delivery, v.DeliveryError)
	}
	if list := f.suppressions(t); len(list) != 1 || list[0].Reason != suppression.ReasonComplained || list[0].Detail != "abuse" {
		t.Fatalf("suppression list %+v", list)
	}
	if n := len(f.env.Changes(t, f.ten.Tenant, f.ten.AccountID, "invitation.complained")); n != 1 {
		t.Fatalf("%d invitation.complained entries", n)
	}
	status, body := f.admin.do("POST", "/invitations/"+id+"/resend", "")
	if code, detail := problemCode(t, body); status != 409 || code != "address_suppressed" || !strings.Contains(detail, "spam") {
		t.Fatalf("resend: %d %s", status, body)
	}
}

// A delay, a transient bounce and a reject are recorded and suppress
// nothing; a report about the email a resend replaced never overwrites
// the resend's state.
func TestOtherOutcomesAreRecordedAndAnOlderEmailsReportNeverOverwritesAResend(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addr := unique("delay")
	id, first := f.invite(t, addr)
	if err := f.feed(ctx, sample(t, "delivery-delay.json", f.ten.ID(), id, first.MessageID, addr)); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryDelayed || v.DeliveryError != "MailboxFull" {
		t.Fatalf("delivery %q %q", v.Delivery, v.DeliveryError)
	}
	if status, body := f.admin.do("POST", "/invitations/"+id+"/resend", ""); status != 200 {
		t.Fatalf("resend: %d %s", status, body)
	}
	// The first email's reject arrives after the resend: not recorded.
	if err := f.feed(ctx, sample(t, "reject.json", f.ten.ID(), id, first.MessageID, addr)); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliverySent {
		t.Fatalf("an older email's report overwrote the resend: %q", v.Delivery)
	}
	got, _ := f.inbox.To(ctx, addr)
	second := got[len(got)-1]
	if err := f.feed(ctx, sample(t, "reject.json", f.ten.ID(), id, second.MessageID, addr)); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryRejected || v.DeliveryError != "Bad content" {
		t.Fatalf("the resend's reject: %q %q", v.Delivery, v.DeliveryError)
	}
	// A late delay of the same email does not hide the reject.
	if err := f.feed(ctx, sample(t, "delivery-delay.json", f.ten.ID(), id, second.MessageID, addr)); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryRejected {
		t.Fatalf("a late delay replaced the reject: %q", v.Delivery)
	}
	// A transient bounce: recorded, not suppressed.
	other := unique("transient")
	otherID, otherSent := f.invite(t, other)
	transient := sample(t, "bounce.json", f.ten.ID(), otherID, otherSent.MessageID, other)
	transient.Records[0].SNS.Message = strings.Replace(transient.Records[0].SNS.Message, `"bounceType":"Permanent"`, `"bounceType":"Transient"`, 1)
	if err := f.feed(ctx, transient); err != nil {
		t.Fatal(err)
	}
	if v := f.invitation(t, otherID); v.Delivery != invitations.DeliveryBouncedTransient {
		t.Fatalf("transient bounce: %q", v.Delivery)
	}
	if list := f.suppressions(t); len(list) != 0 {
		t.Fatalf("suppressed without a permanent bounce or a complaint: %+v", list)
	}
	// A notification for an invitation that no longer exists is skipped.
	if err := f.feed(ctx, sample(t, "bounce.json", f.ten.ID(), "NOSUCHINVITATION", "no-such-message", unique("gone"))); err != nil {
		t.Fatal(err)
	}
}

// A notification that cannot be read is logged without its addresses and
// skipped; the invocation succeeds, so it is not retried forever.
func TestMalformedNotificationsAreSkipped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	addr := unique("malformed")
	id, sent := f.invite(t, addr)
	good := sample(t, "bounce.json", f.ten.ID(), id, sent.MessageID, addr)
	bad := func(message string) events.SNSEventRecord {
		r := good.Records[0]
		r.SNS.Message = message
		return r
	}
	msg := good.Records[0].SNS.Message
	ev := events.SNSEvent{Records: []events.SNSEventRecord{
		bad(`not json ` + addr),
		bad(strings.Replace(msg, `"messageId":"`+sent.MessageID+`"`, `"messageId":""`, 1)),
		bad(strings.Replace(msg, `"tenant":["`+f.ten.ID()+`"]`, `"tenant":["not#a#tenant"]`, 1)),
		bad(strings.Replace(msg, `"bouncedRecipients":[{"emailAddress":"`+addr+`"`, `"bouncedRecipients":[{"emailAddress":""`, 1)),
		good.Records[0],
	}}
	if err := f.feed(ctx, ev); err != nil {
		t.Fatalf("a malformed notification failed the invocation: %v", err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliveryBounced {
		t.Fatalf("the good notification after the bad ones: %q", v.Delivery)
	}
	logs := f.env.Logs.String()
	if n := strings.Count(logs, "ses notification skipped"); n != 4 {
		t.Fatalf("%d skipped notifications logged, want 4:\n%s", n, logs)
	}
	if strings.Contains(logs, addr) {
		t.Fatalf("an address in the logs:\n%s", logs)
	}
}

// A DynamoDB failure fails the invocation, so Lambda retries it.
func TestADynamoDBFailureFailsTheInvocation(t *testing.T) {
	t.Parallel()
	f := setup(t)
	addr := unique("outage")
	id, sent := f.invite(t, addr)
	faults := awsclient.NewFaultInjector()
	faults.Add(awsclient.Fault{Operation: "TransactWriteItems", Times: -1, Status: 400,
		Body: `{"__type":"com.amazonaws.dynamodb.v20120810#AccessDeniedException","message":"injected"}`})
	deps := f.env.Deps
	deps.Store = store.New(awsclient.DynamoDB(f.env.AWS, func(o *dynamodb.Options) { o.HTTPClient = faults }), f.env.Config.Table)
	err := handler.New(deps.Service())(context.Background(), sample(t, "bounce.json", f.ten.ID(), id, sent.MessageID, addr))
	if err == nil || faults.Injected("TransactWriteItems") == 0 {
		t.Fatalf("want the invocation to fail, got %v", err)
	}
	if v := f.invitation(t, id); v.Delivery != invitations.DeliverySent {
		t.Fatalf("recorded despite the failure: %q", v.Delivery)
	}
}
