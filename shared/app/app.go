// Package app builds what every function needs, once, at init: the
// configuration from the environment, the SDK clients, the store, the clock,
// the id generator and the logger.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ses"

	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
)

// Config is read from the environment.
type Config struct {
	Table   string // TABLE_NAME (required)
	Sender  string // SENDER_EMAIL: the From address of emails
	BaseURL string // PUBLIC_BASE_URL: where links in emails point (the API's address)
}

// ConfigFromEnv reads the configuration, failing fast on what is missing.
func ConfigFromEnv() (Config, error) {
	c := Config{Table: os.Getenv("TABLE_NAME"), Sender: os.Getenv("SENDER_EMAIL"), BaseURL: os.Getenv("PUBLIC_BASE_URL")}
	if c.Table == "" {
		return Config{}, fmt.Errorf("TABLE_NAME is not set")
	}
	return c, nil
}

// Deps are the shared dependencies of the handlers.
type Deps struct {
	Config Config
	AWS    aws.Config
	Store  *store.Store
	SES    *ses.Client // invitation emails; built once, never called at init
	Clock  clock.Clock
	IDs    ids.Generator
	Log    *slog.Logger
}

// FromEnv builds Deps for a Lambda function. It never calls the network.
func FromEnv(ctx context.Context) (Deps, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return Deps{}, err
	}
	awsCfg, err := awsclient.Load(ctx)
	if err != nil {
		return Deps{}, err
	}
	clk := clock.System{}
	return Deps{
		Config: cfg,
		AWS:    awsCfg,
		Store:  store.New(awsclient.DynamoDB(awsCfg), cfg.Table),
		SES:    awsclient.SES(awsCfg),
		Clock:  clk,
		IDs:    ids.TimeOrdered{Clock: clk},
		Log:    lambdacontext.NewLogger(),
	}, nil
}

// Must is for main: a function that cannot build its dependencies must not start.
func Must(d Deps, err error) Deps {
	if err != nil {
		slog.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return d
}
