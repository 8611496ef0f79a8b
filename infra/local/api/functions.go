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
	s := d.Service()
	return &Server{
		Clock:  settable,
		Routes: routes.Table,
		Handlers: map[string]httpapi.LambdaHandler{
			"auth":   authh.New(s),
			"invite": inviteh.New(s),
			"accept": accepth.New(s),

			"usage-reset": usageh.NewHTTP(s),
			"link":        linkh.New(s),
			"reassign":    reassignh.NewHTTP(s),

			"accounts": accountsh.New(s),
			"edit":     edith.New(s),
			"delete":   deleteh.New(s),
		},
		Jobs: map[string]Job{
			"expire-invitations": Job(expireh.New(s)),
			"usage-rollover":     Job(usageh.NewJob(s)),

			"resume-reassignments": Job(reassignh.NewJob(s)),
		},
		JobTable:  routes.Jobs,
		SESEvents: seseventsh.New(s),
		Log:       d.Log.With(slog.String("component", "local-api")),
		Now:       d.Clock.Now,
	}
}
