package handler_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/functions/expire-invitations/handler"
	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/testkit"
)

// ownTable gives env a table of its own: the job reads every tenant's due
// invitations, so it must not see those of tests whose clocks are elsewhere.
func ownTable(t *testing.T, env *testkit.Env) {
	t.Helper()
	env.OwnTable(t, "exp")
}

func inviteSome(t *testing.T, env *testkit.Env, ten testkit.Tenant, n int) []string {
	t.Helper()
	svc := invitations.New(env.Service())
	var emails []string
	for i := range n {
		emails = append(emails, fmt.Sprintf("due-%d-%s@job.example", i, strings.ToLower(ids.NewSecret()[:6])))
	}
	no := false
	caller := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "s", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	cmd, err := invitations.InviteRequest{Emails: emails, SendEmail: &no}.Command(caller, ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Invite(context.Background(), cmd)
	if err != nil || res.Created() != n {
		t.Fatalf("invite: %+v %v", res.Counts, err)
	}
	var out []string
	for _, r := range res.Results {
		out = append(out, r.InvitationID)
	}
	return out
}

// The job as the local API fires it (POST /_local/run/expire-invitations),
// three times: it expires each invitation once and logs how many.
func TestJobThroughTheLocalAPI(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ownTable(t, env)
	ten := env.NewTenant(t)
	due := inviteSome(t, env, ten, 3)
	env.Clock.Advance(invitations.ValidFor + time.Minute)
	srv := httptest.NewServer(api.New(env.Deps))
	defer srv.Close()
	for run := range 3 {
		resp, err := http.Post(srv.URL+"/_local/run/expire-invitations", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("run %d: %d", run, resp.StatusCode)
		}
	}
	logs := env.Logs.String()
	if strings.Count(logs, `"msg":"expired invitations"`) != 3 || strings.Count(logs, `"expired":3`) != 1 || strings.Count(logs, `"expired":0`) != 2 {
		t.Fatalf("logs:\n%s", logs)
	}
	for _, id := range due {
		var inv invitations.Invitation
		if ok, err := env.Store.Get(context.Background(), ten.Invitation(id), &inv); !ok || err != nil || inv.Status != invitations.StatusExpired || inv.Version != 2 {
			t.Fatalf("%s: %+v %v", id, inv, err)
		}
	}
}

// The scheduled event as EventBridge delivers it, late: the job reads the
// buckets of the days it missed.
func TestLateScheduledEvent(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ownTable(t, env)
	ten := env.NewTenant(t)
	inviteSome(t, env, ten, 2)
	env.Clock.Advance(invitations.ValidFor + 20*24*time.Hour)
	job := handler.New(env.Service())
	ev := events.EventBridgeEvent{Version: "0", ID: "late-1", DetailType: "Scheduled Event", Source: "aws.events", Time: env.Clock.Now()}
	if err := job(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(env.Logs.String(), `"expired":2`) {
		t.Fatalf("logs:\n%s", env.Logs.String())
	}
}
