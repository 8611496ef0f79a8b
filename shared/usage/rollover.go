package usage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// RolloverJob is the scheduled job's name and its actor in change logs.
const RolloverJob = "usage-rollover"

// RolloverLookBack is how far back the job looks: the due buckets of the
// last 35 days and today, so a run after missed days (or weeks) finalises
// everything that ended meanwhile. A period that ended longer ago stays
// "open" in reports; its counters are still exact, they are just not
// frozen. Each run costs one Query per day of look-back plus what is due.
const RolloverLookBack = 35 * 24 * time.Hour

// dueKind is the GSI3 bucket kind of usage periods.
const dueKind = "USAGE"

// rolloverWorkers bounds the periods finalised at once.
const rolloverWorkers = 8

// RolloverReport says what one run did.
type RolloverReport struct {
	Buckets        int `json:"buckets"`        // day buckets queried
	IndexItemsRead int `json:"indexItemsRead"` // due keys read from GSI3
	Finalised      int `json:"finalised"`      // periods this run froze
	Skipped        int `json:"skipped"`        // finalised by another run meanwhile, or gone
	Failed         int `json:"failed"`
}

// Rollover finalises every usage period that has ended: it freezes the
// period's totals with their overage against the account's allowances,
// takes it out of the due index and writes a "usage.period_closed" entry in
// the account's change log, in one transaction conditioned on the counters
// being those it read and the period not being final yet. New periods need
// nothing: the first record of a period creates its counters.
//
// It reads only the due index (GSI3, KEYS_ONLY): the buckets of the days up
// to now, up to the key of now. A run delivered twice, late, or while usage
// is being recorded changes each period at most once and loses no count (a
// record that reaches a finalised period counts in the next one). A failure
// of one period does not stop the others; the run then returns an error so
// the scheduler retries it, which is safe.
func (s *Service) Rollover(ctx context.Context) (RolloverReport, error) {
	now := s.Clock.Now()
	var rep RolloverReport
	var tally jobs.Tally
	buckets, err := s.Store.EachDue(ctx, dueKind, now, RolloverLookBack, func(sortKeys []string) error {
		keys := make([]dueKey, 0, len(sortKeys))
		for _, sk := range sortKeys {
			if k, ok := parseDueKey(sk); ok {
				keys = append(keys, k)
			}
		}
		rep.IndexItemsRead += len(keys)
		tally.Each(len(keys), rolloverWorkers, errFinalised, func(i int) error {
			return s.finalise(ctx, keys[i], now)
		})
		return nil
	})
	rep.Buckets, rep.Finalised, rep.Skipped, rep.Failed = buckets, tally.Done, tally.Skipped, tally.Failed
	if err != nil {
		return rep, fmt.Errorf("usage rollover: %w", err)
	}
	if err := tally.Err(); err != nil {
		return rep, fmt.Errorf("usage rollover: %d failed: %w", rep.Failed, err)
	}
	return rep, nil
}

// dueKey is one GSI3 entry: which period of which account of which tenant.
type dueKey struct {
	tenant    table.Tenant
	accountID string
	periodID  string
	end       int64
}

func (k dueKey) key() table.Key {
	start, _ := time.Parse("20060102T150405Z", k.periodID)
	return k.tenant.UsagePeriod(k.accountID, start)
}

// parseDueKey reads "<end epoch, 12 digits>#<tenant>#<account>#<period id>".
func parseDueKey(sk string) (dueKey, bool) {
	parts := strings.Split(sk, "#")
	if len(parts) != 4 {
		return dueKey{}, false
	}
	end, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return dueKey{}, false
	}
	t, err := table.ForTenant(parts[1])
	if err != nil || parts[2] == "" {
		return dueKey{}, false
	}
	if _, err := time.Parse("20060102T150405Z", parts[3]); err != nil {
		return dueKey{}, false
	}
	return dueKey{tenant: t, accountID: parts[2], periodID: parts[3], end: end}, true
}

// finalise freezes one ended period. errFinalised means there was nothing
// to do (another run did it, or the item is gone).
func (s *Service) finalise(ctx context.Context, k dueKey, now time.Time) error {
	t, key := k.tenant, k.key()
	var allowances map[string]Allowance
	terms, err := s.Terms.Terms(ctx, t, k.accountID)
	switch {
	case err == nil:
		allowances = terms.Allowances
	case apperr.KindOf(err) == apperr.KindNotFound:
		// The account was deleted: freeze the counters without allowances.
	default:
		return err
	}
	for range maxResetAttempts {
		cur, exists, err := s.readPeriod(ctx, key)
		if err != nil {
			return err
		}
		if !exists || cur.FinalizedAt != nil {
			return errFinalised
		}
		if cur.End.After(now) {
			return errFinalised // not due (the index is behind the item): a later run will see it
		}
		final := map[string]MetricUsage{}
		used, overage := map[string]any{}, map[string]any{}
		for _, m := range metricsOf(cur.Used, nil) {
			a, known := allowances[m.Metric]
			mu := measure(m.Metric, m.Used, a, known)
			final[m.Metric] = mu
			used[m.Metric], overage[m.Metric] = mu.Used, mu.Overage
		}
		upd := expression.Set(expression.Name(attrStatus), expression.Value(statusFinal)).
			Set(expression.Name(attrFinalizedAt), expression.Value(now)).
			Set(expression.Name("final"), expression.Value(final)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Add(expression.Name(attrRev), expression.Value(1)).
			Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK))
		period := Period{Start: cur.Start, End: cur.End}
		entry := changelog.New(t, s.IDs.NewID(), now, k.accountID, changelog.System(RolloverJob), "usage.period_closed",
			"account", k.accountID, map[string]any{"period": period.ID(), "status": statusOpen},
			map[string]any{"period": period.ID(), "status": statusFinal, "start": cur.Start, "end": cur.End, "used": used, "overage": overage})
		err = s.Store.Transact(ctx, fmt.Sprintf("finalise usage period %s of account %s", period.ID(), k.accountID),
			store.Update(key, upd).
				If(store.Is(attrRev, cur.Rev).And(expression.AttributeNotExists(expression.Name(attrFinalizedAt)))).
				OrFail(errChanged),
			entry.Write())
		if errors.Is(err, errChanged) {
			continue // usage (or another run) got there first: read again
		}
		return err
	}
	return ErrBusy
}
