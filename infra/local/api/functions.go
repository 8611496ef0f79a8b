package api

import (
	"log/slog"

	authh "github.com/acme/accountadmin/functions/auth/handler"
	authorizerh "github.com/acme/accountadmin/functions/authorizer/handler"
	"github.com/acme/accountadmin/shared/app"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

// New wires every function of the project to d, as the deployed stack does
// one Lambda per folder in functions/.
func New(d app.Deps) *Server {
	return &Server{
		Routes: routes.Table,
		Handlers: map[string]httpapi.LambdaHandler{
			"auth": authh.New(d),
		},
		Authorizer: Authorizer(authorizerh.New(d)),
		Jobs:       map[string]Job{},
		JobTable:   routes.Jobs,
		Log:        d.Log.With(slog.String("component", "local-api")),
		Now:        d.Clock.Now,
	}
}
