// Package app builds what every function needs, once, at init: the
// configuration from the environment, the SDK clients, the store, the clock,
// the id generator and the logger.
//
// It does not use the SDK's config package (config.LoadDefaultConfig): a
// Lambda function's AWS configuration is its region and the role's
// credentials, both in its environment, and that package's shared-file,
// profile, SSO, web-identity and IMDS support costs every cold start about
// 40% of its instructions and 2 MB of binary (see BENCHMARKS.md). Tools
// that run with a developer's credentials (e.g. `infra/local bootstrap`
// against the deployed table) load them with awsclient.Load and call
// FromAWSConfig.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/logging"

	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tracing"
)

// Config is read from the environment.
type Config struct {
	Table   string // TABLE_NAME (required)
	Sender  string // SENDER_EMAIL: the From address of emails
	BaseURL string // PUBLIC_BASE_URL: where links in emails point (the API's address)
	// SenderName is the From address's display name (SENDER_NAME, "" none).
	SenderName string
	// ConfigurationSet is the SES configuration set emails are sent
	// through (SES_CONFIGURATION_SET, "" none), whose event destinations
	// report bounces and complaints to the ses-events function.
	ConfigurationSet string
	// ReplyToInviter makes an invitation email's Reply-To its inviter's
	// address (REPLY_TO_INVITER=true).
	ReplyToInviter bool
}

// ConfigFromEnv reads the configuration, failing fast on what is missing.
func ConfigFromEnv() (Config, error) {
	c := Config{Table: os.Getenv("TABLE_NAME"), Sender: os.Getenv("SENDER_EMAIL"), BaseURL: os.Getenv("PUBLIC_BASE_URL"),
		SenderName: os.Getenv("SENDER_NAME"), ConfigurationSet: os.Getenv("SES_CONFIGURATION_SET")}
	if c.Table == "" {
		return Config{}, fmt.Errorf("TABLE_NAME is not set")
	}
	switch v := os.Getenv("REPLY_TO_INVITER"); v {
	case "", "false":
	case "true":
		c.ReplyToInviter = true
	default:
		return Config{}, fmt.Errorf("REPLY_TO_INVITER is %q: true or false", v)
	}
	return c, nil
}

// Deps are what a function builds once at init. Its handler and services
// take the part they use, service.Deps (Service).
type Deps struct {
	Config Config
	AWS    aws.Config
	Store  *store.Store
	// Mail sends email. FromEnv leaves it nil: the functions that send email
	// (invite, edit) set it to sesmail.New, so that no other function links
	// the SES client.
	Mail  email.Mailer
	Clock clock.Clock
	IDs   ids.Generator
	Log   *slog.Logger
}

// Service is what the services and handlers take of d: the one place
// app.Deps becomes service.Deps.
func (d Deps) Service() service.Deps {
	return service.Deps{Store: d.Store, Clock: d.Clock, IDs: d.IDs, Log: d.Log, Mail: d.Mail,
		Sender: d.Config.Sender, BaseURL: d.Config.BaseURL, ReplyToInviter: d.Config.ReplyToInviter, AWS: d.AWS}
}

// FromEnv builds Deps for a Lambda function (and for the local stack, whose
// endpoints are in the environment). It never calls the network.
func FromEnv(ctx context.Context) (Deps, error) {
	awsCfg, err := AWSConfigFromEnv()
	if err != nil {
		return Deps{}, err
	}
	return FromAWSConfig(ctx, awsCfg)
}

// FromAWSConfig builds Deps with an AWS configuration loaded by the caller.
func FromAWSConfig(_ context.Context, awsCfg aws.Config) (Deps, error) {
	cfg, err := ConfigFromEnv()
	if err != nil {
		return Deps{}, err
	}
	clk := clock.System{}
	return Deps{
		Config: cfg,
		AWS:    awsCfg,
		Store:  store.New(dynamoDB(awsCfg), cfg.Table),
		Clock:  clk,
		IDs:    ids.TimeOrdered{Clock: clk},
		Log:    httpapi.NewLogger(os.Stdout),
	}, nil
}

// The environment variables the AWS configuration comes from: the ones
// Lambda sets for every function, and the SDK's own names for the local
// endpoints (the same as in shared/awsclient).
const (
	envRegion          = "AWS_REGION"
	envDefaultRegion   = "AWS_DEFAULT_REGION"
	envAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envSessionToken    = "AWS_SESSION_TOKEN"
	envDynamoDBURL     = "AWS_ENDPOINT_URL_DYNAMODB"
	envSESURL          = "AWS_ENDPOINT_URL_SES"
)

// AWSConfigFromEnv is the AWS configuration of a Lambda function: its
// region, and its role's temporary credentials, which Lambda puts in the
// environment and which last as long as the execution environment. Locally
// (a local endpoint set) the credentials are dummy static ones, as the local
// emulators want. Everything else keeps the SDK's defaults, as
// config.LoadDefaultConfig would with the environment Lambda gives.
func AWSConfigFromEnv() (aws.Config, error) {
	region := firstSet(os.Getenv(envRegion), os.Getenv(envDefaultRegion), "us-east-1")
	key, secret, token := os.Getenv(envAccessKeyID), os.Getenv(envSecretAccessKey), os.Getenv(envSessionToken)
	if os.Getenv(envDynamoDBURL) != "" || os.Getenv(envSESURL) != "" {
		key, secret, token = "local", "local", ""
	}
	if key == "" || secret == "" {
		return aws.Config{}, errors.New("no AWS credentials in the environment (" + envAccessKeyID + ", " + envSecretAccessKey + "): " +
			"Lambda sets them; elsewhere load a profile with awsclient.Load and use app.FromAWSConfig")
	}
	cfg := aws.Config{
		Region:      region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(key, secret, token)),
		Logger:      logging.NewStandardLogger(os.Stderr), // the SDK's default, as LoadDefaultConfig sets it
	}
	tracing.Instrument(&cfg) // with Lambda active tracing on, every SDK call is a subsegment
	return cfg, nil
}

// dynamoDB builds the DynamoDB client, pointed at DynamoDB Local when its
// endpoint is set (as awsclient.DynamoDB does).
func dynamoDB(cfg aws.Config) *dynamodb.Client {
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if ep := os.Getenv(envDynamoDBURL); ep != "" {
			o.BaseEndpoint = aws.String(ep)
			o.DisableValidateResponseChecksum = true // DynamoDB Local's error responses carry no CRC32 the SDK accepts
		}
	})
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// Must is for main: a function that cannot build its dependencies must not start.
func Must(d Deps, err error) Deps {
	if err != nil {
		slog.Error("init failed", "error", err.Error())
		os.Exit(1)
	}
	return d
}
