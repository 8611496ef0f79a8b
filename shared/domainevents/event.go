// Package domainevents turns change-log entries into events on the
// service's EventBridge bus. Every entry is written in the same transaction
// as the change it records (shared/changelog), and the table's stream
// carries each committed entry exactly once to the publish-events
// function: so an event exists for every committed change and for no
// rolled-back one. Publishing is at least once (a retried batch may put an
// entry again); consumers de-duplicate on detail.id.
package domainevents

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/table"
)

// Source is the source of every event the service puts.
const Source = "accountadmin"

// Which log an entry was written to.
const (
	LogAccount = "account" // the account's own change log (GET /accounts/{id}/changes)
	LogTenant  = "tenant"  // the tenant-level log (GET /tenant/changes): an account as a whole
)

// Item types of the change-log entries (changelog.New, changelog.NewTenantEntry).
const (
	itemAccountEntry = "CHANGE"
	itemTenantEntry  = "TENANT_CHANGE"
)

// Detail is an event's detail: the change-log entry, as GET .../changes
// shows it, with the tenant and the log it is in. It never holds secrets:
// the change log never records any.
type Detail struct {
	ID        string          `json:"id"` // the entry's id: stable, time ordered, the de-duplication key
	Tenant    string          `json:"tenant"`
	AccountID string          `json:"accountId"`
	Log       string          `json:"log"`
	At        time.Time       `json:"at"`
	Actor     changelog.Actor `json:"actor"`
	Action    string          `json:"action"`
	Subject   Subject         `json:"subject"`
	Before    map[string]any  `json:"before,omitempty"`
	After     map[string]any  `json:"after,omitempty"`
}

// Subject is what the change is about.
type Subject struct {
	Type string `json:"type"` // user, account, invitation, content, licence, role, plan, tenant
	ID   string `json:"id"`
}

// DetailOf is the detail of an entry; false when the item is not a
// change-log entry of a tenant.
func DetailOf(e changelog.Entry) (Detail, bool) {
	tenant, ok := table.TenantOf(e.PK)
	if !ok || e.ID == "" || e.Action == "" {
		return Detail{}, false
	}
	log := LogAccount
	switch e.Type {
	case itemAccountEntry:
	case itemTenantEntry:
		log = LogTenant
	default:
		return Detail{}, false
	}
	return Detail{ID: e.ID, Tenant: tenant, AccountID: e.AccountID, Log: log, At: e.At.UTC(), Actor: e.Actor,
		Action: e.Action, Subject: Subject{Type: e.SubjectType, ID: e.SubjectID}, Before: e.Before, After: e.After}, true
}

// MaxEntrySize is the largest event PutEvents takes (256 KB, counted as
// EventBridge counts it: source, detail-type, detail, resources and time).
const MaxEntrySize = 256 * 1024

// Entry is the detail as a PutEvents entry on bus, and its size.
func (d Detail) Entry(bus string) (types.PutEventsRequestEntry, int, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return types.PutEventsRequestEntry{}, 0, fmt.Errorf("encode event %s: %w", d.ID, err)
	}
	e := types.PutEventsRequestEntry{
		EventBusName: aws.String(bus),
		Source:       aws.String(Source),
		DetailType:   aws.String(d.Action),
		Detail:       aws.String(string(raw)),
		Time:         aws.Time(d.At),
	}
	return e, entrySize(e), nil
}

// entrySize is an entry's size as PutEvents counts it.
func entrySize(e types.PutEventsRequestEntry) int {
	n := 14 // Time
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}
