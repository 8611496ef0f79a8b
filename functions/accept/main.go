// Command accept serves the invitation link: the accept page and the accept itself.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/accept/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps))
}
