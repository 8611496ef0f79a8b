package usage

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPeriodAt(t *testing.T) {
	cases := []struct {
		name, anchor, at, start, end string
	}{
		{"first day", "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z", "2026-12-23T09:00:00Z"},
		{"just before renewal", "2026-11-23T09:00:00Z", "2026-12-23T08:59:59Z", "2026-11-23T09:00:00Z", "2026-12-23T09:00:00Z"},
		{"at renewal", "2026-11-23T09:00:00Z", "2026-12-23T09:00:00Z", "2026-12-23T09:00:00Z", "2027-01-23T09:00:00Z"},
		{"across the year", "2026-11-23T09:00:00Z", "2027-01-05T00:00:00Z", "2026-12-23T09:00:00Z", "2027-01-23T09:00:00Z"},
		{"31st in February", "2026-01-31T10:00:00Z", "2026-02-15T00:00:00Z", "2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z"},
		{"31st after February", "2026-01-31T10:00:00Z", "2026-03-01T00:00:00Z", "2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z"},
		{"31st in April", "2026-01-31T10:00:00Z", "2026-04-30T10:00:00Z", "2026-04-30T10:00:00Z", "2026-05-31T10:00:00Z"},
		{"leap year", "2027-12-30T00:00:00Z", "2028-02-29T12:00:00Z", "2028-02-29T00:00:00Z", "2028-03-30T00:00:00Z"},
		{"anchor in another zone", "2026-11-23T01:00:00+02:00", "2026-11-30T00:00:00Z", "2026-11-22T23:00:00Z", "2026-12-22T23:00:00Z"},
		{"before the anchor", "2026-11-23T09:00:00Z", "2026-11-01T00:00:00Z", "2026-10-23T09:00:00Z", "2026-11-23T09:00:00Z"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := PeriodAt(at(c.anchor), at(c.at))
			if !p.Start.Equal(at(c.start)) || !p.End.Equal(at(c.end)) {
				t.Fatalf("PeriodAt(%s, %s) = [%s, %s), want [%s, %s)", c.anchor, c.at, p.Start, p.End, c.start, c.end)
			}
		})
	}
}

// Periods tile time: every instant is in exactly one, each ends where the
// next starts, and each lasts 28 to 31 days.
func TestPeriodsTileTime(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := at("2024-01-01T00:00:00Z")
	for range 2000 {
		anchor := base.Add(time.Duration(r.Int64N(int64(3 * 365 * 24 * time.Hour))))
		when := base.Add(time.Duration(r.Int64N(int64(6 * 365 * 24 * time.Hour))))
		p := PeriodAt(anchor, when)
		if !p.Contains(when) {
			t.Fatalf("anchor %s: %s not in [%s, %s)", anchor, when, p.Start, p.End)
		}
		days := p.End.Sub(p.Start).Hours() / 24
		if days < 28 || days > 31 {
			t.Fatalf("anchor %s: period [%s, %s) lasts %.1f days", anchor, p.Start, p.End, days)
		}
		next := p.Next(anchor)
		if !next.Start.Equal(p.End) {
			t.Fatalf("anchor %s: next period starts %s, not at %s", anchor, next.Start, p.End)
		}
		if prev := PeriodAt(anchor, p.Start.Add(-time.Nanosecond)); !prev.End.Equal(p.Start) {
			t.Fatalf("anchor %s: previous period ends %s, not at %s", anchor, prev.End, p.Start)
		}
	}
}

func TestRecordRequestValidation(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	cases := []struct {
		name   string
		req    RecordRequest
		fields []string
	}{
		{"ok", RecordRequest{Metric: "tasks", Amount: n(1)}, nil},
		{"custom unit", RecordRequest{Metric: " invoices ", Amount: n(MaxAmount)}, nil},
		{"no metric", RecordRequest{Amount: n(1)}, []string{"metric"}},
		{"bad metric", RecordRequest{Metric: "Tasks!", Amount: n(1)}, []string{"metric"}},
		{"no amount", RecordRequest{Metric: "tasks"}, []string{"amount"}},
		{"zero", RecordRequest{Metric: "tasks", Amount: n(0)}, []string{"amount"}},
		{"negative", RecordRequest{Metric: "tasks", Amount: n(-5)}, []string{"amount"}},
		{"too much", RecordRequest{Metric: "tasks", Amount: n(MaxAmount + 1)}, []string{"amount"}},
		{"both", RecordRequest{Metric: "", Amount: n(0)}, []string{"metric", "amount"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd, err := c.req.Command(access.Caller{UserID: "u"}, "acc")
			if c.fields == nil {
				if err != nil || cmd.Metric != "tasks" && cmd.Metric != "invoices" {
					t.Fatalf("%+v: %v", cmd, err)
				}
				return
			}
			e, ok := apperr.As(err)
			if !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) != len(c.fields) {
				t.Fatalf("got %v, want fields %v", err, c.fields)
			}
			for i, f := range c.fields {
				if e.Fields[i].Field != f {
					t.Fatalf("field %d = %s, want %s", i, e.Fields[i].Field, f)
				}
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	m := measure("tasks", 7, Allowance{Limit: 10}, true)
	if *m.Limit != 10 || *m.Remaining != 3 || m.Overage != 0 || m.Unlimited {
		t.Fatalf("within: %+v", m)
	}
	m = measure("tasks", 14, Allowance{Limit: 10, UsageBased: true}, true)
	if *m.Remaining != 0 || m.Overage != 4 || !m.UsageBased {
		t.Fatalf("overage: %+v", m)
	}
	m = measure("tasks", 14, Allowance{Unlimited: true}, true)
	if m.Limit != nil || m.Remaining != nil || !m.Unlimited || m.Overage != 0 {
		t.Fatalf("unlimited: %+v", m)
	}
	m = measure("gone", 3, Allowance{}, false)
	if m.Limit != nil || m.Used != 3 {
		t.Fatalf("no allowance: %+v", m)
	}
}

func TestParseDueKey(t *testing.T) {
	k, ok := parseDueKey("001795424400#acme#01ACCOUNT#20261123T090000Z")
	if !ok || k.tenant.ID() != "acme" || k.accountID != "01ACCOUNT" || k.periodID != "20261123T090000Z" || k.end != 1795424400 {
		t.Fatalf("%+v %v", k, ok)
	}
	for _, bad := range []string{"", "x#acme#a#20261123T090000Z", "001#acme#a", "001#acme##20261123T090000Z",
		"001#acme#a#yesterday", "001##a#20261123T090000Z", "001#acme#a#20261123T090000Z#extra"} {
		if _, ok := parseDueKey(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}
