package stack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acme/accountadmin/infra/local/stack"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// make dev keeps its table between runs; one made by an older schema (an
// index missing) is refused with the way out, not used to fail later.
func TestAKeptTableMustHaveEveryIndex(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ctx := context.Background()
	name := "kept-" + strings.ToLower(ids.NewSecret()[:10])
	older := table.Schema
	older.Indexes = older.Indexes[:len(older.Indexes)-1]
	if _, err := env.DB.CreateTable(ctx, older.CreateTableInput(name)); err != nil {
		t.Fatal(err)
	}
	err := stack.CreateTable(ctx, env.DB, name)
	if err == nil || !strings.Contains(err.Error(), "make reset") {
		t.Fatalf("an older table: %v", err)
	}
	current := "current-" + strings.ToLower(ids.NewSecret()[:10])
	for range 2 { // made, then kept
		if err := stack.CreateTable(ctx, env.DB, current); err != nil {
			t.Fatal(err)
		}
	}
}
