package administration_test

import (
	"testing"
	_ "time/tzdata" // the tests must not depend on the machine's zoneinfo

	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/tenancy"
)

// The tenant's default time zone is an IANA name, set by operators; an
// invalid one is 422 and nothing changes.
func TestTenantTimeZoneSetting(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	op := w.operator(t)
	before, err := tenancy.Load(ctx, w.env.Store, w.ten.Tenant)
	if err != nil {
		t.Fatal(err)
	}
	if before.Zone() != "UTC" || directory.SettingsViewOf(before).TimeZone != "UTC" {
		t.Fatalf("a new tenant's zone is UTC: %q", before.Zone())
	}
	for _, bad := range []string{"Mars/Olympus", "Local", "", "  ", "Europe/Paris/", "../../etc/passwd", "CET; DROP"} {
		_, err := administration.SettingsRequest{TimeZone: &bad}.Command(op, 0)
		e, ok := apperr.As(err)
		if !ok || e.Kind != apperr.KindUnprocessable || len(e.Fields) != 1 || e.Fields[0].Field != "timeZone" || e.Fields[0].Code != "invalid_time_zone" {
			t.Errorf("timeZone %q: want 422 invalid_time_zone, got %v", bad, err)
		}
	}
	// Past validation, only operators change it.
	ny := "America/New_York"
	cmd, err := administration.SettingsRequest{TimeZone: &ny}.Command(w.admin(), 0)
	wantKind(t, "valid", err, ok)
	_, err = w.adm.UpdateSettings(ctx, cmd)
	wantKind(t, "an account admin", err, apperr.KindForbidden)
	if s, _ := tenancy.Load(ctx, w.env.Store, w.ten.Tenant); s.Version != before.Version || s.Zone() != "UTC" {
		t.Fatalf("refusals changed the settings: %+v", s)
	}

	padded := " America/New_York "
	cmd, err = administration.SettingsRequest{TimeZone: &padded}.Command(op, before.Version)
	wantKind(t, "valid", err, ok)
	got, err := w.adm.UpdateSettings(ctx, cmd)
	wantKind(t, "operator", err, ok)
	stored, _ := tenancy.Load(ctx, w.env.Store, w.ten.Tenant)
	if got.TimeZone != ny || stored.TimeZone != ny || stored.Version != before.Version+1 || directory.SettingsViewOf(stored).TimeZone != ny {
		t.Fatalf("stored %+v, returned %+v", stored, got)
	}
	if len(w.changes(t, w.ten.AccountID, "tenant.settings_changed")) != 1 {
		t.Fatal("the change is not logged")
	}
	utc := "UTC"
	cmd, _ = administration.SettingsRequest{TimeZone: &utc}.Command(op, 0)
	if _, err := w.adm.UpdateSettings(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	if s, _ := tenancy.Load(ctx, w.env.Store, w.ten.Tenant); s.TimeZone != "UTC" {
		t.Fatalf("back to UTC: %+v", s)
	}
}
