// Command accept serves the invitation link: the accept page and the accept itself.
package main

import (
	"context"
	_ "time/tzdata" // the IANA zones wherever the runtime has no zoneinfo: the accept page and its refusals in the tenant's zone

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/accept/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps.Service()))
}
