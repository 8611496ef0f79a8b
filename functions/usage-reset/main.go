// Command usage-reset serves the usage routes (record, read, reset now) and
// the usage-rollover job that finalises ended billing periods.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps.Service()))
}
