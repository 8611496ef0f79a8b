package email_test

import (
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/acme/accountadmin/shared/email"
)

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestFormatInstantInTheReadersZone(t *testing.T) {
	for _, c := range []struct {
		name, zone string
		at         time.Time
		want       string
	}{
		{"UTC", "UTC", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 09:00 UTC"},
		{"half-hour offset", "Asia/Kolkata", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 14:30 IST (UTC+05:30)"},
		{"Paris in winter", "Europe/Paris", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 10:00 CET (UTC+01:00)"},
		{"Paris in summer", "Europe/Paris", time.Date(2026, 7, 14, 9, 0, 0, 0, time.UTC), "Tuesday 14 July 2026, 11:00 CEST (UTC+02:00)"},
		// Spring forward: 29 March 2026 at 01:00 UTC, 02:00 CET becomes 03:00 CEST.
		{"Paris a minute before spring forward", "Europe/Paris", time.Date(2026, 3, 29, 0, 59, 0, 0, time.UTC), "Sunday 29 March 2026, 01:59 CET (UTC+01:00)"},
		{"Paris at spring forward", "Europe/Paris", time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), "Sunday 29 March 2026, 03:00 CEST (UTC+02:00)"},
		// Fall back: 25 October 2026 at 01:00 UTC, 03:00 CEST becomes 02:00 CET:
		// the same wall clock twice, told apart by the abbreviation and offset.
		{"Paris before fall back", "Europe/Paris", time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC), "Sunday 25 October 2026, 02:30 CEST (UTC+02:00)"},
		{"Paris after fall back", "Europe/Paris", time.Date(2026, 10, 25, 1, 30, 0, 0, time.UTC), "Sunday 25 October 2026, 02:30 CET (UTC+01:00)"},
		{"New York, west of UTC", "America/New_York", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 04:00 EST (UTC-05:00)"},
		{"a zone without an abbreviation", "Asia/Dubai", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 13:00 UTC+04:00"},
		{"London in winter is not UTC by name", "Europe/London", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), "Monday 30 November 2026, 09:00 GMT (UTC+00:00)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := email.FormatInstantIn(c.at, zone(t, c.zone)); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
			// The zone the instant arrives in does not matter, only the reader's.
			if got := email.FormatInstantIn(c.at.In(zone(t, "Pacific/Auckland")), zone(t, c.zone)); got != c.want {
				t.Errorf("from another zone: got %q, want %q", got, c.want)
			}
		})
	}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, zone(t, "Asia/Tokyo"))
	if got := email.FormatInstant(at); got != "Monday 30 November 2026, 00:00 UTC" {
		t.Errorf("FormatInstant is UTC: %q", got)
	}
	if got := email.FormatInstantIn(at, nil); got != "Monday 30 November 2026, 00:00 UTC" {
		t.Errorf("a nil zone is UTC: %q", got)
	}
	if got := email.FormatShortIn(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), zone(t, "Asia/Kolkata")); got != "2026-11-30 14:30 IST (UTC+05:30)" {
		t.Errorf("short: %q", got)
	}
}

func TestReaderZoneIsTheirOwnElseTheTenants(t *testing.T) {
	for _, c := range []struct{ own, tenant, want string }{
		{"Europe/Paris", "America/New_York", "Europe/Paris"},
		{"", "America/New_York", "America/New_York"},
		{"Mars/Olympus", "America/New_York", "America/New_York"}, // an unknown name never stops an email
		{"", "", "UTC"},
		{"Local", "Local", "UTC"}, // the server's zone is nobody's
		{"", "Nowhere/Special", "UTC"},
		{" Asia/Kolkata ", "", "Asia/Kolkata"},
	} {
		if got := email.ReaderZone(c.own, c.tenant).String(); got != c.want {
			t.Errorf("ReaderZone(%q, %q) = %s, want %s", c.own, c.tenant, got, c.want)
		}
	}
}

// An invitee has no setting yet: the email is in the tenant's zone.
func TestInvitationEmailInTheTenantsZone(t *testing.T) {
	m, err := email.Invitation{To: "new@b.example", Accounts: []string{"A"}, AcceptURL: "https://x.example/a",
		ExpiresAt: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), Zone: email.ReaderZone("", "America/New_York")}.Render()
	if err != nil {
		t.Fatal(err)
	}
	const want = "expires on Monday 30 November 2026, 04:00 EST (UTC-05:00)"
	if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, want) {
		t.Fatalf("want %q in both bodies:\n%s\n%s", want, m.Text, m.HTML)
	}
}

// A notice goes to a user, who reads it in their own zone.
func TestNoticesToAUserInParis(t *testing.T) {
	at := time.Date(2026, 7, 14, 9, 5, 0, 0, time.UTC)
	paris := email.ReaderZone("Europe/Paris", "America/New_York")
	m := email.EmailChanged{To: "old@a.example", Name: "Élodie", OldEmail: "old@a.example", NewEmail: "new@a.example", At: at, Zone: paris}.Render()
	if want := "changed from old@a.example to new@a.example on Tuesday 14 July 2026, 11:05 CEST (UTC+02:00)."; !strings.Contains(m.Text, want) {
		t.Errorf("email changed: want %q in\n%s", want, m.Text)
	}
	if m.Subject != "Your sign-in email was changed" || m.To != "old@a.example" || m.Check() != nil {
		t.Errorf("message %+v", m)
	}
	p := email.NewPassword{To: "u@a.example", Name: "Élodie", Password: "Xy-12345678abcdEFG", At: at, Zone: paris}.Render()
	if want := "on Tuesday 14 July 2026, 11:05 CEST (UTC+02:00):\n\n    Xy-12345678abcdEFG\n"; !strings.Contains(p.Text, want) || !strings.HasPrefix(p.Text, "Hello Élodie,") {
		t.Errorf("new password: want %q in\n%s", want, p.Text)
	}
}
