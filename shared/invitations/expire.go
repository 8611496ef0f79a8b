package invitations

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// ExpiryLookBack is how far back the expiry job looks: the due buckets of
// the last 30 days and today. An invitation that fell due longer ago than
// that (the job did not run for a month) stays marked pending, but nothing
// is lost: the accept path refuses it by its expiresAt, and lists already
// leave it out of "pending". Each run costs one Query per day of look-back
// plus what is due, never a Scan.
const ExpiryLookBack = 30 * 24 * time.Hour

// DueKind is the GSI3 bucket kind of invitations.
const DueKind = "INVITATION"

// ExpiryJob is the scheduled job's actor in the change log.
const ExpiryJob = "expire-invitations"

// ExpiryReport says what one run did.
type ExpiryReport struct {
	Buckets        int `json:"buckets"`        // day buckets queried
	IndexItemsRead int `json:"indexItemsRead"` // due keys read from GSI3
	ItemsRead      int `json:"itemsRead"`      // invitations read back
	Expired        int `json:"expired"`        // marked expired by this run
	Skipped        int `json:"skipped"`        // accepted, resent or revoked meanwhile, or expired by another run
	Failed         int `json:"failed"`
}

// ExpireDue marks every pending invitation past its expiry as expired. It
// reads only what is due: the sparse GSI3 (only pending invitations carry
// it, KEYS_ONLY), one partition per UTC day of expiry, up to the key of now.
// Each invitation is expired by its own transaction, conditioned on it being
// still pending with the expiry that was read, which also deletes its
// pending guards, moves its index entries and writes the change log. So a
// run delivered twice, late, or racing an accept, a resend or another run
// changes each invitation at most once and never expires an accepted one.
// A failure of one invitation does not stop the others; the run then returns
// an error so the scheduler retries it, which is safe.
func (s *Service) ExpireDue(ctx context.Context) (ExpiryReport, error) {
	now := s.Clock.Now()
	var rep ExpiryReport
	var tally jobs.Tally
	buckets, err := s.Store.EachDue(ctx, DueKind, now, ExpiryLookBack, func(sortKeys []string) error {
		keys := make([]dueKey, 0, len(sortKeys))
		for _, sk := range sortKeys {
			if k, ok := parseDueKey(sk); ok {
				keys = append(keys, k)
			}
		}
		rep.IndexItemsRead += len(keys)
		invs, err := s.readDue(ctx, keys)
		if err != nil {
			return err
		}
		rep.ItemsRead += len(invs)
		rep.Skipped += len(keys) - len(invs) // gone meanwhile
		tally.Each(len(invs), s.workers(), errChanged, func(i int) error {
			return s.expire(ctx, invs[i].tenant, invs[i].inv, now)
		})
		return nil
	})
	rep.Buckets, rep.Expired, rep.Skipped, rep.Failed = buckets, tally.Done, rep.Skipped+tally.Skipped, tally.Failed
	if err != nil {
		return rep, fmt.Errorf("expire invitations: %w", err)
	}
	if err := tally.Err(); err != nil {
		return rep, fmt.Errorf("expire invitations: %d failed: %w", rep.Failed, err)
	}
	return rep, nil
}

// dueKey is one GSI3 entry: which invitation, of which tenant, due when.
type dueKey struct {
	tenant    table.Tenant
	id        string
	expiresAt int64
}

// parseDueKey reads "<epoch, 12 digits>#<tenant>#<invitation id>".
func parseDueKey(sk string) (dueKey, bool) {
	parts := strings.Split(sk, "#")
	if len(parts) != 3 {
		return dueKey{}, false
	}
	at, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return dueKey{}, false
	}
	t, err := table.ForTenant(parts[1])
	if err != nil || !ids.Valid(parts[2]) {
		return dueKey{}, false
	}
	return dueKey{tenant: t, id: parts[2], expiresAt: at}, true
}

type dueInvitation struct {
	tenant table.Tenant
	inv    Invitation
}

// readDue reads the invitations behind due keys (strongly consistent: the
// index may lag) and keeps those still pending with the expiry the key says.
func (s *Service) readDue(ctx context.Context, keys []dueKey) ([]dueInvitation, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	tk := make([]table.Key, len(keys))
	for i, k := range keys {
		tk[i] = k.tenant.Invitation(k.id)
	}
	items, err := s.getAll(ctx, tk)
	if err != nil {
		return nil, fmt.Errorf("read due invitations: %w", err)
	}
	var out []dueInvitation
	for i, k := range keys {
		it, ok := items[tk[i]]
		if !ok {
			continue
		}
		var inv Invitation
		if err := attributevalue.UnmarshalMap(it, &inv); err != nil {
			return nil, apperr.Internal("decode invitation", err)
		}
		if inv.Status == StatusPending && inv.ExpiresAt == k.expiresAt {
			out = append(out, dueInvitation{tenant: k.tenant, inv: inv})
		}
	}
	return out, nil
}

// expire marks one invitation expired, if it still is pending with the
// expiry that was read and that expiry has passed.
func (s *Service) expire(ctx context.Context, t table.Tenant, inv Invitation, now time.Time) error {
	if inv.ExpiresAt > now.Unix() {
		return errChanged
	}
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(StatusExpired)).
		Set(expression.Name("expiredAt"), expression.Value(now.Unix())).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK)).Remove(expression.Name("reserved"))
	writes := []*store.Write{
		store.Update(t.Invitation(inv.ID), upd).
			If(store.Is("status", StatusPending).And(store.Is("expiresAt", inv.ExpiresAt)).
				And(expression.Name("expiresAt").LessThanEqual(expression.Value(now.Unix())))).
			OrFail(errChanged),
	}
	writes = append(writes, releases(t, inv)...) // its seats are free again
	for _, a := range inv.AccountIDs {
		writes = append(writes,
			moveEntry(t, inv, a, StatusExpired),
			store.Delete(t.PendingInvitation(a, inv.Email)),
			changelog.New(t, s.IDs.NewID(), now, a, changelog.System(ExpiryJob), "invitation.expired", changeLogSubjectInv, inv.ID,
				map[string]any{"status": StatusPending}, map[string]any{"status": StatusExpired, "email": inv.Email, "expiresAt": inv.Expiry()}).Write())
	}
	return s.Store.Transact(ctx, "expire "+describe(inv), writes...)
}
