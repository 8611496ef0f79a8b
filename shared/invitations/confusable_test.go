package invitations_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/invitations"
)

// A look-alike address is not invited: its result says why, and nothing
// is created for it; the genuine address beside it is invited.
func TestALookAlikeAddressIsNotInvited(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	no := false
	genuine, lookAlike := address("admin"), "\u0430dmin@"+strings.SplitN(address("admin"), "@", 2)[1] // a Cyrillic а
	cmd, err := invitations.InviteRequest{Emails: []string{genuine, lookAlike}, SendEmail: &no}.Command(w.admin, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	res, err := w.svc.Invite(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Results[1]; r.Result != invitations.ResultInvalid || !strings.Contains(r.Detail, "Cyrillic") || r.InvitationID != "" {
		t.Fatalf("look-alike: %+v", r)
	}
	if r := res.Results[0]; r.Result != invitations.ResultCreated || res.Created() != 1 {
		t.Fatalf("genuine: %+v (%d created)", r, res.Created())
	}
}
