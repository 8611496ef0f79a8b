package usage_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// The scheduled jobs are actors in an account's change log, as the account's
// Admin reads it (GET /accounts/{id}/changes): with the injected clock moved
// past an invitation's expiry and then past the billing period's end, the
// expiry job's invitation.expired and the rollover's usage.period_closed are
// there, newest first, each by actor kind "system" named after its job.
func TestTheChangeLogShowsTheJobsAsAutomationActors(t *testing.T) {
	t.Parallel()
	w := newIsolatedWorld(t) // both jobs read every tenant's due items
	ctx := context.Background()
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{"late@automations.example"}, Roles: []string{access.RoleViewer},
		SendEmail: &no}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	sent, err := invitations.New(w.env.Service()).Invite(ctx, cmd)
	if err != nil || sent.Results[0].Result != invitations.ResultCreated {
		t.Fatalf("invite: %+v %v", sent, err)
	}
	invitationID := sent.Results[0].InvitationID
	w.mustRecord(t, w.ten.AccountID, usage.MetricTasks, 3)

	expiredAt := testkit.Start.Add(invitations.ValidFor + time.Hour)
	w.env.Clock.Set(expiredAt)
	if rep, err := invitations.New(w.env.Service()).ExpireDue(ctx); err != nil || rep.Expired != 1 {
		t.Fatalf("expiry job: %+v %v", rep, err)
	}
	period := usage.PeriodAt(testkit.Start, testkit.Start)
	rolledAt := period.End.Add(10 * time.Minute)
	if !rolledAt.After(expiredAt) {
		t.Fatalf("the period ends %s, before the invitation expires", period.End)
	}
	w.env.Clock.Set(rolledAt)
	if rep := w.rollover(t); rep.Finalised != 1 {
		t.Fatalf("rollover: %+v", rep)
	}

	page, err := directory.New(w.env.Service()).AccountChanges(ctx, w.admin, w.ten.AccountID, 50, "")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []directory.Change
	for _, c := range page.Changes {
		if c.Action == "invitation.expired" || c.Action == "usage.period_closed" {
			jobs = append(jobs, c)
		}
	}
	if len(jobs) != 2 {
		t.Fatalf("the jobs' entries: %+v (the log: %+v)", jobs, page.Changes)
	}
	rolled, expired := jobs[0], jobs[1] // newest first
	want := []struct {
		got              directory.Change
		action, job, sub string
		at               time.Time
	}{
		{rolled, "usage.period_closed", usage.RolloverJob, "", rolledAt},
		{expired, "invitation.expired", invitations.ExpiryJob, invitationID, expiredAt},
	}
	for _, x := range want {
		if x.got.Action != x.action || x.got.Actor != changelog.System(x.job) || !x.got.At.Equal(x.at) || (x.sub != "" && x.got.SubjectID != x.sub) {
			t.Errorf("want %s by system %s at %s (subject %q), got %+v", x.action, x.job, x.at, x.sub, x.got)
		}
		// As the API shows it.
		raw, err := json.Marshal(x.got.Actor)
		if err != nil {
			t.Fatal(err)
		}
		if s := string(raw); !strings.Contains(s, `"kind":"system"`) || !strings.Contains(s, `"id":"`+x.job+`"`) {
			t.Errorf("%s: actor as JSON %s", x.action, s)
		}
	}
}
