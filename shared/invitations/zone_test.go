package invitations_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
)

func (w *world) setTenantZone(t testing.TB, name string) {
	t.Helper()
	if err := w.env.Store.Do(context.Background(), "set the tenant's zone", store.Update(w.ten.Settings(),
		expression.Set(expression.Name("timeZone"), expression.Value(name))).If(store.Exists())); err != nil {
		t.Fatal(err)
	}
}

// An invitee has no time zone of their own: the invitation email (read back
// from SES local) gives its expiry in the tenant's.
func TestInvitationEmailInTheTenantsZone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.setTenantZone(t, "America/New_York")
	addr := address("zoned")
	cmd, err := invitations.InviteRequest{Emails: []string{addr}}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(ctx, cmd)
	if err != nil || res.Results[0].Delivery != invitations.DeliverySent {
		t.Fatalf("invite: %v %+v", err, res)
	}
	exp := res.Results[0].ExpiresAt
	if exp.Location() != time.UTC {
		t.Errorf("the JSON stays in UTC: %v", exp)
	}
	ny, _ := time.LoadLocation("America/New_York")
	local := exp.In(ny)
	abbr, off := local.Zone()
	want := "expires on " + local.Format("Monday 2 January 2006, 15:04 ") + abbr + fmt.Sprintf(" (UTC-%02d:00)", -off/3600)
	mails, err := inbox().To(ctx, addr)
	if err != nil || len(mails) != 1 {
		t.Fatalf("inbox: %d %v", len(mails), err)
	}
	if m := mails[0]; !strings.Contains(m.Body.Text, want) || !strings.Contains(m.Body.HTML, want) {
		t.Fatalf("want %q in the email:\n%s", want, m.Body.Text)
	}
}

// Rate-limit details are built deep in the domain, for a reader it does not
// load: they use the tenant's zone (the settings are loaded already).
func TestRateLimitDetailInTheTenantsZone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	w.setTenantZone(t, "Asia/Kolkata")
	w.svc.Limits = invitations.Limits{PerInviterPerHour: 1, PerAccountPerHour: 100}
	no := false
	send := func() error {
		cmd, err := invitations.InviteRequest{Emails: []string{address("limited")}, SendEmail: &no}.Command(w.admin, w.ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = w.svc.Invite(ctx, cmd)
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	err := send()
	e, ok := apperr.As(err)
	if !ok || e.Kind != apperr.KindRateLimited || !strings.Contains(e.Detail, "IST (UTC+05:30)") {
		t.Fatalf("want a 429 in the tenant's zone, got %v", err)
	}
}
