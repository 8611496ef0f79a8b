package directory_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// setZone writes a timeZone attribute, as PATCH /tenant/settings (on the
// settings item) and the profile edit (on a user) do.
func (w *world) setZone(t testing.TB, k table.Key, name string) {
	t.Helper()
	if err := w.env.Store.Do(context.Background(), "set time zone",
		store.Update(k, expression.Set(expression.Name("timeZone"), expression.Value(name))).If(store.Exists())); err != nil {
		t.Fatal(err)
	}
}

// records parses an export into rows of column -> cell.
func records(t testing.TB, doc string) []map[string]string {
	t.Helper()
	all, err := csv.NewReader(strings.NewReader(doc)).ReadAll()
	if err != nil || len(all) < 2 {
		t.Fatalf("export %q: %v", doc, err)
	}
	var out []map[string]string
	for _, rec := range all[1:] {
		row := map[string]string{}
		for i, col := range all[0] {
			row[col] = rec[i]
		}
		out = append(out, row)
	}
	return out
}

func load(t testing.TB, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// The users export is in the caller's zone (their own, else the tenant's),
// with each instant also in UTC beside it for machines; the JSON list stays
// in UTC.
func TestUsersExportInTheCallersZoneWithUTCBeside(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u := newUsersWorld(t, newWorld(t))
	u.invite(t, "invited@users.example")
	u.setZone(t, u.ten.Settings(), "America/New_York")

	export := func() (map[string]string, time.Time) {
		t.Helper()
		page, err := u.dir.Members(ctx, directory.MemberQuery{Caller: u.boss, AccountID: u.account, Kind: directory.KindInvitation, Limit: 10})
		if err != nil || len(page.Members) != 1 {
			t.Fatalf("list: %v %+v", err, page)
		}
		zone, err := u.dir.ReaderZone(ctx, u.boss)
		if err != nil {
			t.Fatal(err)
		}
		return records(t, directory.MembersCSV(page.Members, zone).String())[0], *page.Members[0].ExpiresAt
	}
	row, expires := export()
	if expires.Location() != time.UTC {
		t.Errorf("the JSON list is in UTC: %v", expires)
	}
	utc := expires.UTC().Format(time.RFC3339)
	wantNY := expires.In(load(t, "America/New_York")).Format("2006-01-02 15:04 MST")
	if row["expires_at_utc"] != utc || !strings.HasPrefix(row["expires_at"], wantNY+" (UTC-0") {
		t.Errorf("no zone of their own: the tenant's. expires_at %q (want %s…), expires_at_utc %q (want %s)", row["expires_at"], wantNY, row["expires_at_utc"], utc)
	}
	if row["invited_at_utc"] == "" || !strings.HasSuffix(row["invited_at_utc"], "Z") || row["joined_at"] != "" || row["joined_at_utc"] != "" {
		t.Errorf("row %v", row)
	}

	u.setZone(t, u.ten.User(u.boss.UserID), "Europe/Paris")
	row, _ = export()
	wantParis := expires.In(load(t, "Europe/Paris")).Format("2006-01-02 15:04 MST")
	if row["expires_at_utc"] != utc || !strings.HasPrefix(row["expires_at"], wantParis+" (UTC+0") {
		t.Errorf("their own zone: expires_at %q (want %s…), expires_at_utc %q", row["expires_at"], wantParis, row["expires_at_utc"])
	}
}

func TestAccountsExportInTheCallersZone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	op := w.operator(t)
	w.setZone(t, w.ten.User(op.UserID), "Asia/Kolkata")
	page, err := w.dir.Accounts(ctx, directory.AccountQuery{Caller: op, Limit: 10})
	if err != nil || len(page.Accounts) == 0 {
		t.Fatalf("accounts: %v %+v", err, page)
	}
	zone, err := w.dir.ReaderZone(ctx, op)
	if err != nil {
		t.Fatal(err)
	}
	row := records(t, directory.AccountsCSV(page.Accounts, zone).String())[0]
	created := page.Accounts[0].CreatedAt
	want := created.In(load(t, "Asia/Kolkata")).Format("2006-01-02 15:04") + " IST (UTC+05:30)"
	if row["created_at"] != want || row["created_at_utc"] != created.UTC().Format(time.RFC3339) || row["closed_at"] != "" || row["closed_at_utc"] != "" {
		t.Errorf("row %v, want created_at %q", row, want)
	}
}
