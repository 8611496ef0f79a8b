package api

import (
	"log/slog"

	accepth "github.com/acme/accountadmin/functions/accept/handler"
	accountsh "github.com/acme/accountadmin/functions/accounts/handler"
	authh "github.com/acme/accountadmin/functions/auth/handler"
	deleteh "github.com/acme/accountadmin/functions/delete/handler"
	edith "github.com/acme/accountadmin/functions/edit/handler"
	expireh "github.com/acme/accountadmin/functions/expire-invitations/handler"
	inviteh "github.com/acme/accountadmin/functions/invite/handler"
	linkh "github.com/acme/accountadmin/functions/link/handler"
	reassignh "github.com/acme/accountadmin/functions/reassign/handler"
	seseventsh "github.com/acme/accountadmin/functions/ses-events/handler"
	usageh "github.com/acme/accountadmin/functions/usage-reset/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

// New wires every function of the project to d, as the deployed stack does
// one Lambda per folder in functions/. They all read d.Clock, and so do the
// scheduled jobs: when it is settable (clock.Local in `make dev`,
// clock.Manual in tests), POST /_local/clock moves it for all of them.
func New(d app.Deps) *Server {
	settable, _ := d.Clock.(SettableClock)
	return &Server{
		Clock:  settable,
		Routes: routes.Table,
		Handlers: map[string]httpapi.LambdaHandler{
			"auth":   authh.New(d),
			"invite": inviteh.New(d),
			"accept": accepth.New(d),

			"usage-reset": usageh.NewHTTP(d),
			"link":        linkh.New(d),
			"reassign":    reassignh.NewHTTP(d),

			"accounts": accountsh.New(d),
			"edit":     edith.New(d),
			"delete":   deleteh.New(d),
		},
		Jobs: map[string]Job{
			"expire-invitations": Job(expireh.New(d)),
			"usage-rollover":     Job(usageh.NewJob(d)),

			"resume-reassignments": Job(reassignh.NewJob(d)),
		},
		JobTable:  routes.Jobs,
		SESEvents: seseventsh.New(d),
		Log:       d.Log.With(slog.String("component", "local-api")),
		Now:       d.Clock.Now,
	}
}
