package domainevents

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/table"
)

func TestTheFilterKeepsNewChangeLogEntriesOnly(t *testing.T) {
	ten := table.MustTenant("acme")
	entry := changelog.New(ten, "01KAP6ZQ8M0000000000000000", time.Now(), "A1", changelog.System("job"), "usage.reset", "account", "A1", nil, nil)
	tenantEntry := changelog.NewTenantEntry(ten, "01KAP6ZQ8M0000000000000001", time.Now(), "A1", changelog.System("job"), "account.closed", nil, nil)
	rec := func(name, typ string) events.DynamoDBEventRecord {
		return events.DynamoDBEventRecord{EventName: name, Change: events.DynamoDBStreamRecord{
			NewImage: map[string]events.DynamoDBAttributeValue{"type": events.NewStringAttribute(typ)}}}
	}
	cases := []struct {
		r    events.DynamoDBEventRecord
		want bool
	}{
		{rec("INSERT", entry.Type), true},
		{rec("INSERT", tenantEntry.Type), true},
		{rec("MODIFY", entry.Type), false},
		{rec("REMOVE", entry.Type), false},
		{rec("INSERT", "USER"), false},
		{rec("INSERT", "SESSION"), false},
		{events.DynamoDBEventRecord{EventName: "INSERT"}, false},
	}
	for _, c := range cases {
		if got := ChangeLogInserts.Matches(c.r); got != c.want {
			t.Errorf("%s %v: %v, want %v", c.r.EventName, c.r.Change.NewImage["type"], got, c.want)
		}
	}
	// AND the pattern the stack deploys says the same
	raw, _ := json.Marshal(ChangeLogInserts.Pattern())
	if string(raw) != `{"dynamodb":{"NewImage":{"type":{"S":["CHANGE","TENANT_CHANGE"]}}},"eventName":["INSERT"]}` {
		t.Errorf("pattern = %s", raw)
	}
}

func TestDetailOfNamesTheTenantAndTheLog(t *testing.T) {
	ten := table.MustTenant("acme")
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	e := changelog.New(ten, "01KAP6ZQ8M0000000000000000", at, "A1", changelog.Actor{Kind: "user", ID: "U1"}, "membership.removed", "user", "U2",
		map[string]any{"roles": []string{"Viewer"}}, nil)
	d, ok := DetailOf(e)
	if !ok || d.Tenant != "acme" || d.Log != LogAccount || d.AccountID != "A1" || d.Subject != (Subject{"user", "U2"}) || d.ID != e.ID || !d.At.Equal(at) {
		t.Fatalf("detail = %+v, %v", d, ok)
	}
	te := changelog.NewTenantEntry(ten, "01KAP6ZQ8M0000000000000001", at, "A1", changelog.System("job"), "account.closed", nil, nil)
	td, ok := DetailOf(te)
	if !ok || td.Log != LogTenant || td.Subject != (Subject{"account", "A1"}) {
		t.Fatalf("tenant detail = %+v, %v", td, ok)
	}
	entry, size, err := td.Entry("bus")
	if err != nil || *entry.DetailType != "account.closed" || *entry.Source != Source || *entry.EventBusName != "bus" || size <= 0 {
		t.Fatalf("entry = %+v %d %v", entry, size, err)
	}
}

// Every detail-type of the catalogue has its schema in events/schemas, and
// every schema there is of a detail-type of the catalogue, with its subject.
func TestEveryDetailTypeHasItsSchema(t *testing.T) {
	dir := filepath.Join("..", "..", "events", "schemas")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	have := map[string]bool{}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if name == "event" {
			continue
		}
		have[name] = true
		raw, _ := os.ReadFile(p)
		var s struct {
			Properties struct {
				DetailType struct{ Const string } `json:"detail-type"`
				Detail     struct {
					Properties struct {
						Action  struct{ Const string }
						Log     struct{ Enum []string }
						Subject struct {
							Properties struct{ Type struct{ Const string } }
						}
					}
				}
			}
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		subject, ok := DetailTypes[name]
		switch {
		case !ok:
			t.Errorf("schema %s is of no detail-type the service puts", name)
		case s.Properties.DetailType.Const != name || s.Properties.Detail.Properties.Action.Const != name:
			t.Errorf("schema %s names another detail-type", name)
		case s.Properties.Detail.Properties.Subject.Properties.Type.Const != subject:
			t.Errorf("schema %s: subject %q, want %q", name, s.Properties.Detail.Properties.Subject.Properties.Type.Const, subject)
		case slices.Contains(s.Properties.Detail.Properties.Log.Enum, LogTenant) != TenantLogged[name]:
			t.Errorf("schema %s: logs %v", name, s.Properties.Detail.Properties.Log.Enum)
		}
	}
	for dt := range DetailTypes {
		if !have[dt] {
			t.Errorf("no schema events/schemas/%s.json", dt)
		}
	}
}
