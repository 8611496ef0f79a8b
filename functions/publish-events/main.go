// Command publish-events reads the table's stream (change-log entries only,
// by its event source mapping's filter) and puts each entry on the
// service's event bus.
package main

import (
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/acme/accountadmin/functions/publish-events/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/domainevents"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := app.AWSConfigFromEnv()
	if err != nil {
		fail(log, err)
	}
	pub, err := domainevents.NewPublisher(cfg, log)
	if err != nil {
		fail(log, err)
	}
	lambda.Start(handler.New(pub))
}

func fail(log *slog.Logger, err error) {
	log.Error("init failed", "error", err.Error())
	os.Exit(1)
}
