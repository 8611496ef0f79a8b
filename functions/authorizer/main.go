// Command authorizer is the HTTP API's Lambda authorizer (simple responses).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/authorizer/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps))
}
