package invitations

import (
	"context"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// The refusals an invitee reads (expired, accepted, withdrawn, replaced)
// give their dates in the tenant's zone; a usable link reads no settings.
func TestRefusalsToAnInviteeInTheTenantsZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	s := New(env.Service())
	if err := env.Store.Do(ctx, "set the tenant's zone", store.Update(ten.Settings(),
		expression.Set(expression.Name("timeZone"), expression.Value("America/New_York"))).If(store.Exists())); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	tok := ten.ID() + ".01JXXXXXXXXXXXXXXXXXXXXXXX." + strings.Repeat("s", 43)
	at := time.Date(2026, 11, 20, 14, 30, 0, 0, time.UTC).Unix() // 09:30 in New York (EST)
	base := Invitation{ID: "01JXXXXXXXXXXXXXXXXXXXXXXX", Email: "x@y.example", Status: StatusPending, TokenHash: ids.Hash(tok),
		ExpiresAt: at, SentAt: at - int64(ValidFor.Seconds()), AcceptedAt: at, RevokedAt: at, InviterName: "Ada Admin", InviterEmail: "ada@acme.example"}
	with := func(f func(*Invitation)) Invitation { inv := base; f(&inv); return inv }
	const ny = "Friday 20 November 2026, 09:30 EST (UTC-05:00)"
	for _, c := range []struct {
		name string
		inv  Invitation
		want *apperr.Error
		says string
	}{
		{"past its expiry", base, ErrExpired, "expired on " + ny},
		{"expired", with(func(i *Invitation) { i.Status = StatusExpired }), ErrExpired, "expired on " + ny},
		{"accepted", with(func(i *Invitation) { i.Status = StatusAccepted }), ErrAccepted, "accepted on " + ny},
		{"revoked", with(func(i *Invitation) { i.Status = StatusRevoked }), ErrRevoked, "withdrawn on " + ny},
		{"replaced", with(func(i *Invitation) {
			i.ReplacedLinks, i.TokenHash, i.SentAt, i.ExpiresAt = []string{ids.Hash(tok)}, "other", at, now.Add(time.Hour).Unix()
		}), ErrReplaced, "sent on " + ny},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := s.usableForInvitee(ctx, ten.Tenant, c.inv, tok, now)
			e, ok := apperr.As(err)
			if !ok || e.Code != c.want.Code || !strings.Contains(e.Detail, c.says) {
				t.Fatalf("got %v, want %s saying %q", err, c.want.Code, c.says)
			}
			// The problem's own members stay in UTC, for machines.
			for _, v := range e.Extra {
				if at, ok := v.(time.Time); ok && at.Location() != time.UTC {
					t.Errorf("member %v is not in UTC", at)
				}
			}
		})
	}
	usableNow := with(func(i *Invitation) { i.ExpiresAt = now.Add(time.Hour).Unix() })
	if err := s.usableForInvitee(ctx, ten.Tenant, usableNow, tok, now); err != nil {
		t.Fatalf("usable: %v", err)
	}
	if err := s.usableForInvitee(ctx, ten.Tenant, usableNow, tok[:len(tok)-1]+"t", now); err != ErrNotFound {
		t.Fatalf("unknown link: %v", err)
	}
}
