// Package service is what the domain services and the functions' handlers
// take from a function's wiring: the store, the clock, the id generator, the
// logger, the mailer and the few configuration values they read.
//
// It is a leaf: shared/app builds it (app.Deps.Service), so that the domain
// packages and the handlers need not import the composition root, and a
// function links only the packages its own handler uses.
package service

import (
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
)

// Deps are the dependencies of a service or a handler.
type Deps struct {
	Store *store.Store
	Clock clock.Clock
	IDs   ids.Generator
	Log   *slog.Logger
	// Mail sends email; nil in the functions that send none.
	Mail email.Mailer
	// Sender is the From address of emails (SENDER_EMAIL, "" none).
	Sender string
	// BaseURL is where links in emails point (PUBLIC_BASE_URL).
	BaseURL string
	// ReplyToInviter makes an invitation email's Reply-To its inviter's
	// address (REPLY_TO_INVITER).
	ReplyToInviter bool
	// AWS is the function's AWS configuration, for the few clients a
	// handler builds itself at init (the auth function's KMS key and SNS).
	AWS aws.Config
}
