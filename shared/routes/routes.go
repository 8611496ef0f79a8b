// Package routes is the one route table: the local HTTP API serves it and the
// CDK stack deploys it, so the two can never disagree.
package routes

// Route is one HTTP API route.
type Route struct {
	Method   string
	Path     string // API Gateway syntax: /accounts/{accountId}
	Function string // the folder under functions/
	Auth     bool   // behind the Lambda authorizer
}

// Key is API Gateway's route key, which handlers dispatch on.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Job is a scheduled function.
type Job struct {
	Name       string // as in POST /_local/run/{job}
	Function   string
	Schedule   string // EventBridge expression
	DetailType string // the event's detail-type
}

// Authorizer is the function that resolves sessions for routes with Auth.
const Authorizer = "authorizer"

// Table is every route of the HTTP API.
var Table = []Route{
	{"POST", "/auth/sign-in", "auth", false},
	{"POST", "/auth/sign-out", "auth", true},
	{"GET", "/me", "auth", true},
}

// Jobs are the scheduled functions.
var Jobs = []Job{}

// Functions lists every function folder: the route handlers, the authorizer
// and the jobs.
func Functions() []string {
	seen := map[string]bool{Authorizer: true}
	out := []string{Authorizer}
	add := func(f string) {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	for _, r := range Table {
		add(r.Function)
	}
	for _, j := range Jobs {
		add(j.Function)
	}
	return out
}
