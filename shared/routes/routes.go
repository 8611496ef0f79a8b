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

	{"POST", "/accounts/{accountId}/invitations", "invite", true},
	{"GET", "/accounts/{accountId}/invitations", "invite", true},
	{"POST", "/invitations/{invitationId}/resend", "invite", true},
	{"DELETE", "/invitations/{invitationId}", "invite", true},
	{"GET", "/invitations/accept", "accept", false},  // the link in the email: a page, never a change
	{"POST", "/invitations/accept", "accept", false}, // the invitee may have no account yet

	// Usage counters (issue 5): record and read live with the reset, beside
	// the rollover job, so one function owns the usage items.
	{"POST", "/accounts/{accountId}/usage", "usage-reset", true},
	{"GET", "/accounts/{accountId}/usage", "usage-reset", true},
	{"POST", "/accounts/{accountId}/usage/reset", "usage-reset", true},

	// Linked accounts (issue 5).
	{"GET", "/accounts/{accountId}/family", "link", true},
	{"POST", "/accounts/{accountId}/children", "link", true},
	{"DELETE", "/accounts/{accountId}/children/{childId}", "link", true},
	// External associates (issue 5).
	{"POST", "/users/{userId}/associations", "link", true},
	{"PATCH", "/accounts/{accountId}/associates/{userId}", "link", true},
	{"DELETE", "/accounts/{accountId}/associates/{userId}", "link", true},
	{"POST", "/me/switch-account", "link", true},

	// Content and its reassignment (issue 5): one function owns the items.
	{"POST", "/accounts/{accountId}/content", "reassign", true},
	{"GET", "/accounts/{accountId}/content", "reassign", true},
	{"GET", "/accounts/{accountId}/content/{contentId}", "reassign", true},
	{"DELETE", "/accounts/{accountId}/content/{contentId}", "reassign", true},
	{"POST", "/users/{userId}/reassign-content", "reassign", true},
	{"GET", "/reassignments/{jobId}", "reassign", true},

	// Administration (issue 4): reading (accounts), changes (edit), removals (delete).
	{"GET", "/accounts", "accounts", true},
	{"GET", "/accounts/export.csv", "accounts", true},
	{"GET", "/accounts/{accountId}", "accounts", true},
	{"GET", "/accounts/{accountId}/users", "accounts", true},
	{"GET", "/accounts/{accountId}/users/export.csv", "accounts", true},
	{"GET", "/accounts/{accountId}/changes", "accounts", true},
	{"GET", "/users/{userId}", "accounts", true},
	{"GET", "/users/{userId}/changes", "accounts", true},
	{"GET", "/users/{userId}/access-history", "accounts", true},
	{"GET", "/accounts/{accountId}/access-history", "accounts", true}, // issue 15
	{"POST", "/accounts", "edit", true},
	{"PATCH", "/accounts/{accountId}", "edit", true},
	{"POST", "/accounts/{accountId}/users", "edit", true}, // a user added without an invitation (issue 14)
	{"GET", "/roles", "accounts", true},
	{"GET", "/tenant/settings", "accounts", true},
	{"GET", "/plans", "accounts", true},
	{"GET", "/tenant/changes", "accounts", true}, // the tenant-level change log (issue 15)
	{"PUT", "/accounts/{accountId}/plan", "edit", true},
	{"PUT", "/accounts/{accountId}/licences/{licence}", "edit", true},
	{"PUT", "/accounts/{accountId}/users/{userId}/roles", "edit", true},
	{"PUT", "/accounts/{accountId}/users/{userId}/licence", "edit", true},
	{"PATCH", "/users/{userId}", "edit", true},
	{"PUT", "/users/{userId}/password", "edit", true},
	{"POST", "/users/{userId}/suspend", "edit", true},
	{"POST", "/users/{userId}/reactivate", "edit", true},
	{"POST", "/users/{userId}/sign-out", "edit", true},
	{"POST", "/me/password", "edit", true},
	{"PUT", "/roles/{roleName}", "edit", true},
	{"DELETE", "/roles/{roleName}", "edit", true},
	{"PATCH", "/tenant/settings", "edit", true},
	{"PUT", "/plans/{planId}", "edit", true},
	// The tenant's catalogue of licence types (issue 14).
	{"GET", "/licence-types", "accounts", true},
	{"PUT", "/licence-types/{licence}", "edit", true},
	{"POST", "/users/delete", "delete", true},
	{"DELETE", "/users/{userId}", "delete", true},
	{"DELETE", "/accounts/{accountId}/users/{userId}", "delete", true},
	{"POST", "/accounts/{accountId}/close", "delete", true},
	// Closed accounts (issue 15): reopen one whose data was kept.
	{"POST", "/accounts/{accountId}/reopen", "edit", true},
}

// Lookup finds the route of a route key ("POST /auth/sign-in").
func Lookup(key string) (Route, bool) {
	for _, r := range Table {
		if r.Key() == key {
			return r, true
		}
	}
	return Route{}, false
}

// Jobs are the scheduled functions.
var Jobs = []Job{
	{Name: "expire-invitations", Function: "expire-invitations", Schedule: "rate(1 hour)", DetailType: "Scheduled Event"},
	{Name: "usage-rollover", Function: "usage-reset", Schedule: "cron(5 * * * ? *)", DetailType: "Usage Rollover"}, // hourly at :05
	{Name: "resume-reassignments", Function: "reassign", Schedule: "rate(2 minutes)", DetailType: "Resume Reassignments"},
}

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
