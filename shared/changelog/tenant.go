package changelog

import (
	"context"
	"fmt"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// NewTenantEntry builds an entry in the tenant-level change log
// (table.TenantChangeLogEntry): what happened to account accountID as a
// whole (closed, reopened, wiped), kept when the account and its own log
// are gone, so the actor of a wipe is still known. The actor is recorded
// as the account's own log would record it (support with the reason when
// switched into that account, else operator). Like every entry it goes
// into the transaction of the change.
func NewTenantEntry(t table.Tenant, id string, at time.Time, accountID string, actor Actor, action string, before, after map[string]any) Entry {
	k := t.TenantChangeLogEntry(id)
	return Entry{PK: k.PK, SK: k.SK, Type: "TENANT_CHANGE", ID: id, AccountID: accountID, At: at, Actor: actor.In(accountID),
		Action: action, SubjectType: "account", SubjectID: accountID, Before: before, After: after}
}

// TenantChanges reads one page of the tenant-level change log, newest first
// (one Query of its partition, descending: entry ids are time ordered),
// for tenant operators only (403 operators_only for anyone else).
func TenantChanges(ctx context.Context, s *store.Store, caller access.Caller, limit int32, cursor string) ([]Entry, string, error) {
	if !caller.Operator {
		return nil, "", access.ErrOperatorsOnly.Withf("only tenant operators read the tenant's change log")
	}
	page, err := s.QueryPage(ctx, store.Query{Partition: caller.Tenant.TenantChangeLog(), SKPrefix: table.ChangeLogPrefix,
		Newest: true, Limit: limit, Cursor: cursor})
	if err != nil {
		return nil, "", fmt.Errorf("read the tenant change log: %w", err)
	}
	var entries []Entry
	if err := page.Decode(&entries); err != nil {
		return nil, "", fmt.Errorf("decode the tenant change log: %w", err)
	}
	return entries, page.Cursor, nil
}
