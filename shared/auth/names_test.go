package auth_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// Authorize names the caller from the user item it reads anyway: a rename
// shows in the very next request, with no read more.
func TestAuthorizeNamesTheCallerAsTheyAreNow(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := service(env)
	ctx := context.Background()
	u := env.AddUser(t, ten, ten.AccountID, "ada@customer.example", "")
	signed, err := signIn(t, svc, ten, u.Email, testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	c, err := svc.Authorize(ctx, signed.Token)
	if err != nil || c.Name != "Test User" || c.Email != u.Email {
		t.Fatalf("caller %+v, %v", c, err)
	}
	rename := expression.Set(expression.Name("firstName"), expression.Value("Ada")).Set(expression.Name("lastName"), expression.Value("Admin"))
	if err := env.Store.Do(ctx, "rename", store.Update(ten.Tenant.User(u.ID), rename)); err != nil {
		t.Fatal(err)
	}
	if c, err := svc.Authorize(ctx, signed.Token); err != nil || c.Name != "Ada Admin" || c.Email != u.Email {
		t.Fatalf("after the rename: %+v, %v", c, err)
	}
}
