// Command edit serves the administration changes: accounts (create, rename),
// profiles and emails, roles, licences, passwords, suspension and sign-out,
// custom roles and tenant settings.
package main

import (
	"context"
	_ "time/tzdata" // the IANA zones wherever the runtime has no zoneinfo: notices in the user's zone; timeZone settings are validated against it

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/acme/accountadmin/functions/edit/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/sesmail"
)

func main() {
	deps := app.Must(app.FromEnv(context.Background()))
	deps.Mail = sesmail.New(deps.AWS, deps.Config.Sender).With(sesmail.Options{Name: deps.Config.SenderName, ConfigurationSet: deps.Config.ConfigurationSet}) // notices: email changed, generated password
	lambda.Start(handler.New(deps.Service()))
}
