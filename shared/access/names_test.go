package access_test

import (
	"context"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/table"
)

// The caller's name and email survive from where httpapi.Server.Serve resolved
// them to the handler, so every change-log entry written for the request
// can name them.
func TestCallerNameAndEmailReachTheHandler(t *testing.T) {
	c := access.Caller{Tenant: table.MustTenant("acme"), UserID: "u", SessionID: "s", AccountID: "a",
		Name: "Ada Admin", Email: "ada@customer.example"}
	got, err := access.CallerFrom(access.WithCaller(context.Background(), c))
	if err != nil || got.Name != "Ada Admin" || got.Email != "ada@customer.example" {
		t.Fatalf("caller = %+v, %v", got, err)
	}
}
