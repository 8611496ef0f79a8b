// Command ses-events receives SES's bounce, complaint, delivery-delay and
// reject notifications (SNS, from the configuration set's event
// destination): it records them on the invitation whose email they are
// about and keeps the tenant's suppression list.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/ses-events/handler"
	"github.com/acme/accountadmin/shared/app"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	lambda.Start(handler.New(deps.Service()))
}
