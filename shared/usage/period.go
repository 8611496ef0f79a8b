package usage

import "time"

// Period is one monthly billing period, [Start, End).
type Period struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// PeriodAt is the billing period containing at, for an account billed from
// anchor. Periods are monthly and start on the anchor's day of the month at
// the anchor's time of day (UTC); in a month too short for that day, on its
// last day. So an account anchored on 31 January renews on 28 (or 29)
// February, 31 March, 30 April...
func PeriodAt(anchor, at time.Time) Period {
	anchor, at = anchor.UTC(), at.UTC()
	start := monthlyStart(anchor, at.Year(), at.Month())
	if start.After(at) {
		start = monthlyStart(anchor, at.Year(), at.Month()-1)
	}
	return Period{Start: start, End: monthlyStart(anchor, start.Year(), start.Month()+1)}
}

// Next is the period that follows p for the same anchor.
func (p Period) Next(anchor time.Time) Period { return PeriodAt(anchor, p.End) }

// Contains reports whether at falls in p.
func (p Period) Contains(at time.Time) bool { return !at.Before(p.Start) && at.Before(p.End) }

// ID names the period (its start, fixed-width UTC).
func (p Period) ID() string { return p.Start.UTC().Format("20060102T150405Z") }

// monthlyStart is the anchor's renewal instant in month m of year y (m may be
// out of range: it is normalised first).
func monthlyStart(anchor time.Time, y int, m time.Month) time.Time {
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	y, m = first.Year(), first.Month()
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(y, m, min(anchor.Day(), last), anchor.Hour(), anchor.Minute(), anchor.Second(), 0, time.UTC)
}
