package csvexport_test

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/acme/accountadmin/shared/csvexport"
)

func TestInstantsInTheReadersZoneWithUTCBeside(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	if got := csvexport.InstantColumns("joined_at", "expires_at"); !slices.Equal(got, []string{"joined_at", "joined_at_utc", "expires_at", "expires_at_utc"}) {
		t.Errorf("columns %v", got)
	}
	at := time.Date(2026, 7, 14, 9, 5, 7, 0, time.UTC)
	for _, c := range []struct {
		at   *time.Time
		zone *time.Location
		want []string
	}{
		{&at, paris, []string{"2026-07-14 11:05 CEST (UTC+02:00)", "2026-07-14T09:05:07Z"}},
		{&at, nil, []string{"2026-07-14 09:05 UTC", "2026-07-14T09:05:07Z"}},
		{nil, paris, []string{"", ""}},
		{&time.Time{}, paris, []string{"", ""}},
	} {
		if got := csvexport.Instant(c.at, c.zone); !slices.Equal(got, c.want) {
			t.Errorf("Instant(%v, %v) = %q, want %q", c.at, c.zone, got, c.want)
		}
	}
	// Neither cell starts with a character a spreadsheet reads as a formula.
	sheet := csvexport.New(csvexport.InstantColumns("at")...)
	sheet.Row(csvexport.Instant(&at, paris)...)
	if want := "at,at_utc\r\n2026-07-14 11:05 CEST (UTC+02:00),2026-07-14T09:05:07Z\r\n"; sheet.String() != want {
		t.Errorf("sheet %q", sheet.String())
	}
}
