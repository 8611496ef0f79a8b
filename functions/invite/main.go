// Command invite serves an account's invitations: invite, list, resend, revoke.
package main

import (
	"context"
	"errors"
	_ "time/tzdata" // the IANA zones wherever the runtime has no zoneinfo: invitation emails and rate-limit details in the tenant's zone

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/invite/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/sesmail"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	if deps.Config.Sender == "" || deps.Config.BaseURL == "" {
		app.Must(deps, errors.New("SENDER_EMAIL and PUBLIC_BASE_URL must be set: invitation emails need a sender and a link"))
	}
	deps.Mail = sesmail.New(deps.AWS, deps.Config.Sender).With(sesmail.Options{Name: deps.Config.SenderName, ConfigurationSet: deps.Config.ConfigurationSet})
	lambda.Start(handler.New(deps.Service()))
}
