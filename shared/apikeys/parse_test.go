package apikeys

import (
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/table"
)

// A presented key is split into its tenant by its shape alone; anything
// else is an unknown key, before any read.
func TestParse(t *testing.T) {
	ten, err := table.ForTenant("acme")
	if err != nil {
		t.Fatal(err)
	}
	good := newSecret(ten)
	if !strings.HasPrefix(good, "aak_acme_") || len(good) != len("aak_acme_")+secretLength {
		t.Fatalf("secret shape: %.12s… (%d)", good, len(good))
	}
	if got, err := parse(good); err != nil || got.ID() != "acme" {
		t.Fatalf("parse(good) = %q, %v", got.ID(), err)
	}
	for _, bad := range []string{"", "acme.x", "aak_", "aak_acme", "aak_acme_short",
		"aak_" + strings.Repeat("a", 43), "aak_acme" + good[len("aak_acme_"):], "aak_" + strings.Repeat("x", 200) + "_" + good[len(good)-43:],
		"aak_bad#tenant_" + good[len(good)-43:]} {
		if _, err := parse(bad); err != ErrUnknownKey {
			t.Errorf("parse(%.20q) = %v, want unknown", bad, err)
		}
	}
}
