// Command auth serves sign-in, sign-out and /me.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/auth/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/sesmail"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	if deps.Config.Sender != "" {
		deps.Mail = sesmail.New(deps.AWS, deps.Config.Sender).With(sesmail.Options{Name: deps.Config.SenderName, ConfigurationSet: deps.Config.ConfigurationSet}) // the code that proves an address at first sign-in
	}
	lambda.Start(handler.New(deps.Service()))
}
