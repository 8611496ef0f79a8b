// Command auth serves sign-in, sign-out and /me.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/auth/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps))
}
