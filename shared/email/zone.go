package email

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Instants shown to people (emails, the accept page, problem details, CSV
// exports) are written in the reader's time zone, with its abbreviation and
// its offset from UTC, so that nobody has to convert, and an ambiguous
// abbreviation (IST, CST) is settled by the offset. JSON fields stay RFC 3339
// in UTC: they are for machines.
//
// Zone names are IANA names (Europe/Paris). This package does not embed the
// time zone database: a function that renders for people imports
// time/tzdata in its main package, so that every name resolves there even
// where the system has no zoneinfo. A name that does not resolve is shown
// in UTC, never refused: a stored setting must not stop an email.

// ReaderZone is the zone a reader sees instants in: their own setting when
// they have one, else the tenant's default, else UTC.
func ReaderZone(own, tenantDefault string) *time.Location {
	if z, ok := lookup(own); ok {
		return z
	}
	return Zone(tenantDefault)
}

// Zone is the IANA time zone name, or UTC when the name is empty, "Local"
// (the server's zone, never a reader's) or unknown here.
func Zone(name string) *time.Location {
	z, _ := lookup(name)
	return z
}

// zones caches resolved names: time.LoadLocation reads and parses the zone
// each time it is called.
var zones sync.Map // name -> *time.Location

func lookup(name string) (*time.Location, bool) {
	name = strings.TrimSpace(name)
	if name == "" || name == "Local" || len(name) > 64 {
		return time.UTC, false
	}
	if z, ok := zones.Load(name); ok {
		return z.(*time.Location), true
	}
	z, err := time.LoadLocation(name)
	if err != nil {
		return time.UTC, false
	}
	zones.Store(name, z)
	return z, true
}

// FormatInstant writes an instant in UTC the way emails and pages show it:
// "Monday 30 November 2026, 09:00 UTC". Use FormatInstantIn when the
// reader, or at least their tenant, is known.
func FormatInstant(t time.Time) string { return FormatInstantIn(t, time.UTC) }

// FormatInstantIn writes t as a reader in zone reads it:
// "Monday 30 November 2026, 10:00 CET (UTC+01:00)", or
// "Monday 30 November 2026, 09:00 UTC" in UTC. A nil zone is UTC.
func FormatInstantIn(t time.Time, zone *time.Location) string {
	local := in(t, zone)
	return local.Format("Monday 2 January 2006, 15:04") + " " + ZoneLabel(local)
}

// FormatShortIn writes t in zone for a table cell: "2026-11-30 10:00 CET
// (UTC+01:00)", or "2026-11-30 09:00 UTC".
func FormatShortIn(t time.Time, zone *time.Location) string {
	local := in(t, zone)
	return local.Format("2006-01-02 15:04") + " " + ZoneLabel(local)
}

func in(t time.Time, zone *time.Location) time.Time {
	if zone == nil {
		zone = time.UTC
	}
	return t.In(zone)
}

// ZoneLabel names the zone t is in at t: "UTC", "CET (UTC+01:00)",
// "IST (UTC+05:30)", or only the offset ("UTC+04:00") where the zone has no
// abbreviation of letters (the database writes "+04" for those).
func ZoneLabel(t time.Time) string {
	abbr, secs := t.Zone()
	if secs == 0 && (abbr == "UTC" || abbr == "" || abbr == "Z") {
		return "UTC"
	}
	sign := '+'
	if secs < 0 {
		sign, secs = '-', -secs
	}
	offset := fmt.Sprintf("UTC%c%02d:%02d", sign, secs/3600, secs/60%60)
	if !isLetters(abbr) {
		return offset
	}
	return abbr + " (" + offset + ")"
}

func isLetters(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if (r < 'A' || r > 'Z') && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}
