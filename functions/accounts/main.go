// Command accounts serves the reading side of administration: the account
// directory (list, search, CSV export), one account, an account's members
// (list, CSV export), a user's profile, change logs and access history.
package main

import (
	"context"
	_ "time/tzdata" // the IANA zones wherever the runtime has no zoneinfo: CSV exports in the caller's zone

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/accounts/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps.Service()))
}
