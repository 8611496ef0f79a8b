package access_test

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/testkit"
)

// The caller's name and email survive the authorizer context, so every
// change-log entry written for the request can name them.
func TestCallerNameAndEmailInTheAuthorizerContext(t *testing.T) {
	c := access.Caller{Tenant: testkit.Tenant{}.Tenant, UserID: "u", SessionID: "s", AccountID: "a",
		Name: "Ada Admin", Email: "ada@customer.example"}
	ctx := c.Context()
	ctx[access.CtxTenant] = "acme"
	req := events.APIGatewayV2HTTPRequest{}
	req.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{Lambda: ctx}
	got, err := access.CallerFrom(req)
	if err != nil || got.Name != "Ada Admin" || got.Email != "ada@customer.example" {
		t.Fatalf("caller = %+v, %v", got, err)
	}
	// A context written before callers carried names gives a caller without.
	delete(ctx, access.CtxName)
	delete(ctx, access.CtxEmail)
	if got, err := access.CallerFrom(req); err != nil || got.Name != "" || got.Email != "" || got.UserID != "u" {
		t.Fatalf("old context = %+v, %v", got, err)
	}
}
