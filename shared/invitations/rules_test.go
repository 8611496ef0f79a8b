package invitations

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/table"
)

// Pure rules, no I/O: request validation, token shape, the state an
// invitation answers with.

func TestInviteRequestValidation(t *testing.T) {
	caller := access.Caller{Tenant: table.MustTenant("acme"), UserID: "u1"}
	many := make([]string, MaxEmails+1)
	for i := range many {
		many[i] = "x@y.example"
	}
	no := false
	cases := []struct {
		name      string
		req       InviteRequest
		account   string
		wantField string // "" = valid
		wantKind  apperr.Kind
	}{
		{"one email", InviteRequest{Emails: []string{"a@b.example"}}, "A1", "", 0},
		{"bad addresses are per email, not a bad request", InviteRequest{Emails: []string{"not an address", "a@b.example"}}, "A1", "", 0},
		{"no emails", InviteRequest{}, "A1", "emails", apperr.KindUnprocessable},
		{"too many emails", InviteRequest{Emails: many}, "A1", "emails", apperr.KindUnprocessable},
		{"bad extra account", InviteRequest{Emails: []string{"a@b.example"}, AccountIDs: []string{"A#2"}}, "A1", "accountIds", apperr.KindUnprocessable},
		{"extra account with a slash", InviteRequest{Emails: []string{"a@b.example"}, AccountIDs: []string{"A/2"}}, "A1", "accountIds", apperr.KindUnprocessable},
		{"too many accounts", InviteRequest{Emails: []string{"a@b.example"}, AccountIDs: strings.Split("B,C,D,E,F,G,H,I,J,K", ",")}, "A1", "accountIds", apperr.KindUnprocessable},
		{"empty role", InviteRequest{Emails: []string{"a@b.example"}, Roles: []string{" "}}, "A1", "roles", apperr.KindUnprocessable},
		{"message too long", InviteRequest{Emails: []string{"a@b.example"}, Message: strings.Repeat("é", MaxMessageRunes+1)}, "A1", "message", apperr.KindUnprocessable},
		{"message with control characters", InviteRequest{Emails: []string{"a@b.example"}, Message: "hi\x07"}, "A1", "message", apperr.KindUnprocessable},
		{"message at the bound", InviteRequest{Emails: []string{"a@b.example"}, Message: strings.Repeat("é", MaxMessageRunes), SendEmail: &no}, "A1", "", 0},
		{"bad path account", InviteRequest{Emails: []string{"a@b.example"}}, "A#1", "", apperr.KindNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := tc.req.Command(caller, tc.account)
			if tc.wantField == "" && tc.wantKind == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if cmd.AccountIDs[0] != tc.account {
					t.Fatalf("the path account must come first: %v", cmd.AccountIDs)
				}
				return
			}
			if apperr.KindOf(err) != tc.wantKind {
				t.Fatalf("kind = %v, want %v (%v)", apperr.KindOf(err), tc.wantKind, err)
			}
			if tc.wantField != "" {
				e, _ := apperr.As(err)
				if len(e.Fields) == 0 || e.Fields[0].Field != tc.wantField {
					t.Fatalf("fields = %+v, want %s", e.Fields, tc.wantField)
				}
			}
		})
	}
}

func TestInviteCommandDefaults(t *testing.T) {
	cmd, err := InviteRequest{Emails: []string{"a@b.example"}, AccountIDs: []string{"A1", "B2", "B2"}, Roles: []string{"Admin", "Admin"},
		Message: "  Welcome aboard\r\nSee you  "}.Command(access.Caller{}, "A1")
	if err != nil {
		t.Fatal(err)
	}
	if !cmd.SendEmail {
		t.Error("sendEmail defaults to true")
	}
	if strings.Join(cmd.AccountIDs, ",") != "A1,B2" || strings.Join(cmd.Roles, ",") != "Admin" {
		t.Errorf("duplicates kept: accounts %v roles %v", cmd.AccountIDs, cmd.Roles)
	}
	if cmd.Message != "Welcome aboard\nSee you" {
		t.Errorf("message = %q", cmd.Message)
	}
}

func TestTokenShape(t *testing.T) {
	ten := table.MustTenant("acme")
	id := ids.TimeOrdered{Clock: fixedClock{}}.NewID()
	tok := newToken(ten, id)
	gotT, gotID, err := ParseToken(tok)
	if err != nil || gotT.ID() != "acme" || gotID != id {
		t.Fatalf("ParseToken(%q) = %v %v %v", tok, gotT.ID(), gotID, err)
	}
	if !sameHash(tok, ids.Hash(tok)) || sameHash(tok+"x", ids.Hash(tok)) {
		t.Fatal("hash comparison is wrong")
	}
	if newToken(ten, id) == tok {
		t.Fatal("two tokens for one invitation must differ")
	}
	secret := strings.Split(tok, ".")[2]
	for name, bad := range map[string]string{
		"empty":          "",
		"no secret":      "acme." + id,
		"short secret":   "acme." + id + ".abc",
		"bad tenant":     "ac#me." + id + "." + secret,
		"bad id":         "acme.i#d." + secret,
		"four parts":     "acme." + id + "." + secret + ".x",
		"absurdly large": strings.Repeat("a", 500),
	} {
		if _, _, err := ParseToken(bad); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: want not found, got %v", name, err)
		}
	}
}

type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) }

func TestStateErrors(t *testing.T) {
	now := fixedClock{}.Now()
	tok := "acme.01JXXXXXXXXXXXXXXXXXXXXXXX." + strings.Repeat("s", 43)
	base := Invitation{ID: "01JXXXXXXXXXXXXXXXXXXXXXXX", Email: "x@y.example", Status: StatusPending, TokenHash: ids.Hash(tok),
		ExpiresAt: now.Add(time.Hour).Unix(), InviterName: "Ada Admin", InviterEmail: "ada@acme.example"}
	with := func(f func(*Invitation)) Invitation { inv := base; f(&inv); return inv }
	cases := []struct {
		name string
		inv  Invitation
		tok  string
		want error
		says string
	}{
		{"pending", base, tok, nil, ""},
		{"pending at expiry", with(func(i *Invitation) { i.ExpiresAt = now.Unix() }), tok, ErrExpired, "Ada Admin (ada@acme.example)"},
		{"pending past expiry", with(func(i *Invitation) { i.ExpiresAt = now.Add(-time.Second).Unix() }), tok, ErrExpired, "expired on Monday 23 November 2026, 08:59 UTC"},
		{"expired", with(func(i *Invitation) { i.Status = StatusExpired }), tok, ErrExpired, "send you a new one"},
		{"accepted", with(func(i *Invitation) { i.Status = StatusAccepted }), tok, ErrAccepted, "sign in"},
		{"revoked", with(func(i *Invitation) { i.Status = StatusRevoked }), tok, ErrRevoked, "withdrawn"},
		{"wrong secret", base, tok[:len(tok)-1] + "t", ErrNotFound, ""},
		{"replaced link", with(func(i *Invitation) { i.ReplacedLinks = []string{ids.Hash(tok)}; i.TokenHash = "other" }), tok, ErrReplaced, "newer invitation email"},
		{"replaced link of an accepted one", with(func(i *Invitation) {
			i.ReplacedLinks, i.TokenHash, i.Status = []string{ids.Hash(tok)}, "other", StatusAccepted
		}), tok, ErrAccepted, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := usable(tc.inv, tc.tok, now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want usable, got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if e, _ := apperr.As(err); !strings.Contains(e.Detail, tc.says) {
				t.Fatalf("detail %q does not say %q", e.Detail, tc.says)
			}
		})
	}
}

func TestViewShowsDueInvitationsAsExpired(t *testing.T) {
	now := fixedClock{}.Now()
	inv := Invitation{Status: StatusPending, ExpiresAt: now.Unix(), SentAt: now.Add(-ValidFor).Unix()}
	if v := ViewOf(inv, now); v.Status != StatusExpired {
		t.Fatalf("status = %s", v.Status)
	}
	inv.ExpiresAt = now.Unix() + 1
	if v := ViewOf(inv, now); v.Status != StatusPending || v.Roles == nil {
		t.Fatalf("view = %+v", v)
	}
}

func TestDueKeyRoundTrip(t *testing.T) {
	ten := table.MustTenant("acme")
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	ix := ten.DueInvitation(at, "01JABC")
	k, ok := parseDueKey(ix.SK)
	if !ok || k.tenant.ID() != "acme" || k.id != "01JABC" || k.expiresAt != at.Unix() {
		t.Fatalf("parse %q = %+v %v", ix.SK, k, ok)
	}
	// The job's upper bound takes every key due at or before now, none after.
	upper := table.DueSortKey(at.Add(time.Second))
	if !(ix.SK < upper) || !(ten.DueInvitation(at.Add(time.Second), "01JABC").SK > upper) {
		t.Fatal("due bound is off by one")
	}
	for _, bad := range []string{"", "x#acme#id", "000000000001#ac.me#id", "000000000001#acme"} {
		if _, ok := parseDueKey(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

// The JSON view of an offer tells whether the address has an account only
// to the invitee's own session, never to whoever holds the link.
func TestOfferJSONShowsExistingUserOnlyToTheInvitee(t *testing.T) {
	for _, c := range []struct {
		offer Offer
		want  string // the existingUser member, "" = absent
	}{
		{Offer{Email: "e@b.example", ExistingUser: true}, ""},
		{Offer{Email: "e@b.example"}, ""},
		{Offer{Email: "e@b.example", ExistingUser: true, SignedIn: true}, `"existingUser":true`},
	} {
		b, err := json.Marshal(c.offer)
		if err != nil {
			t.Fatal(err)
		}
		got := string(b)
		if c.want == "" && strings.Contains(got, "existingUser") || c.want != "" && !strings.Contains(got, c.want) ||
			!strings.Contains(got, `"email":"e@b.example"`) || !strings.Contains(got, fmt.Sprintf(`"signedIn":%v`, c.offer.SignedIn)) {
			t.Errorf("%+v: %s", c.offer, got)
		}
	}
}
