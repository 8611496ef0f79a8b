// Package routes is the one route table: the local HTTP API serves it, the
// CDK stack deploys it and httpapi.Server.Serve applies each row's options
// before the handler's operation runs (handlers register operations by the
// row's Op, never by route key), so none of them can disagree. openapi.json documents it, checked by the tests.
package routes

import "sync"

// Route is one HTTP API route and everything the service promises about it:
// the CDK stack, the local HTTP API, the handlers and the OpenAPI document
// (checked by openapi_test.go) all read it from here.
type Route struct {
	Method string
	Path   string // API Gateway syntax: /accounts/{accountId}
	// Op names the route: its operationId in openapi.json, and the name its
	// function's handler package registers its code under (httpapi.Ops), so
	// that no handler retypes a route key.
	Op       string
	Function string // the folder under functions/
	// Auth routes need a caller: httpapi.Server.Serve resolves the
	// request's bearer session before the operation runs and answers 401
	// without one.
	Auth bool
	// BodyLimit bounds the request body in bytes (413 beyond, before the
	// operation runs); 0 means the route takes no body.
	BodyLimit int
	// Idempotent routes honour Idempotency-Key: a retry replays the first
	// response (a response that hands out a secret is marked no-store and
	// is never stored).
	Idempotent bool
	// IfMatch routes read If-Match (parsed for the operation, 400 when
	// malformed): an edit of a versioned resource that answers 412 when the
	// version the caller saw is stale.
	IfMatch bool
	// NoStore responses carry Cache-Control: no-store (they hold a secret,
	// a link or an export that no cache may keep).
	NoStore bool
	// Throttle is the route's throttle class in the deployed stage: "" is
	// the stage's shared limit, ThrottlePublic a lower limit of its own.
	Throttle string
	// NoKey routes act as a person (sign out, switch account, passwords,
	// offers that carry a person's authority, minting keys): an API key
	// presented to one is refused (403 api_key_refused) before the handler.
	NoKey bool
}

// Throttle classes of Route.Throttle.
const (
	// ThrottlePublic is for routes that anyone can call without a session
	// (sign-in, the invitation link): each has its own lower limit, so that
	// they cannot use up the shared limit of the authorized routes.
	ThrottlePublic = "public"
)

// KiB is a body limit unit.
const KiB = 1 << 10

// Key is API Gateway's route key, which handlers dispatch on.
func (r Route) Key() string { return r.Method + " " + r.Path }

// Job is a scheduled function.
type Job struct {
	Name       string // as in POST /_local/run/{job}
	Function   string
	Schedule   string // EventBridge expression
	DetailType string // the event's detail-type
}

// Table is every route of the HTTP API.
var Table = []Route{
	{Method: "POST", Path: "/auth/sign-in", Op: "signIn", Function: "auth", BodyLimit: 4 * KiB, NoStore: true, Throttle: ThrottlePublic}, // answers a session token
	{Method: "POST", Path: "/auth/sign-out", Op: "signOut", Function: "auth", Auth: true, NoKey: true},
	{Method: "GET", Path: "/me", Op: "getMe", Function: "auth", Auth: true, NoKey: true},
	// The second step of a sign-in, and enrolling second factors.
	{Method: "POST", Path: "/auth/sign-in/verify", Op: "verifySignIn", Function: "auth", BodyLimit: 1 * KiB, NoStore: true, Throttle: ThrottlePublic}, // answers a session token
	{Method: "POST", Path: "/auth/sign-in/sms", Op: "sendSignInSMS", Function: "auth", BodyLimit: 1 * KiB, Throttle: ThrottlePublic},                  // texts a code for a challenge
	{Method: "GET", Path: "/me/two-factor", Op: "getTwoFactor", Function: "auth", Auth: true, NoKey: true},
	{Method: "POST", Path: "/me/two-factor", Op: "startTwoFactor", Function: "auth", Auth: true, NoKey: true, BodyLimit: 1 * KiB, NoStore: true},                         // answers a key, shown once
	{Method: "POST", Path: "/me/two-factor/confirm", Op: "confirmTwoFactor", Function: "auth", Auth: true, NoKey: true, BodyLimit: 1 * KiB, NoStore: true},               // answers recovery codes
	{Method: "POST", Path: "/me/two-factor/recovery-codes", Op: "regenerateRecoveryCodes", Function: "auth", Auth: true, NoKey: true, BodyLimit: 1 * KiB, NoStore: true}, // answers new recovery codes

	// Idempotent when it sends the email; with sendEmail false the answer
	// holds the links, is no-store and is never stored for a replay.
	{Method: "POST", Path: "/accounts/{accountId}/invitations", Op: "inviteUsers", Function: "invite", Auth: true, BodyLimit: 64 * KiB, Idempotent: true, NoKey: true},
	{Method: "GET", Path: "/accounts/{accountId}/invitations", Op: "listInvitations", Function: "invite", Auth: true},
	{Method: "POST", Path: "/invitations/{invitationId}/resend", Op: "resendInvitation", Function: "invite", Auth: true, BodyLimit: 1 * KiB, Idempotent: true, IfMatch: true, NoKey: true}, // as the invite, for sendEmail false
	{Method: "DELETE", Path: "/invitations/{invitationId}", Op: "revokeInvitation", Function: "invite", Auth: true, IfMatch: true},
	// The tenant's suppression list (operators; a tenant key needs
	// tenant.manage): addresses SES reported as bounced or complaining.
	{Method: "GET", Path: "/tenant/suppressions", Op: "listSuppressions", Function: "invite", Auth: true},
	{Method: "DELETE", Path: "/tenant/suppressions/{email}", Op: "removeSuppression", Function: "invite", Auth: true},
	// The link in the email: a page, never a change. Its accept is public
	// because the invitee may have no account yet.
	{Method: "GET", Path: "/invitations/accept", Op: "openInvitation", Function: "accept", NoStore: true, Throttle: ThrottlePublic},
	{Method: "POST", Path: "/invitations/accept", Op: "acceptInvitation", Function: "accept", BodyLimit: 4 * KiB, NoStore: true, Throttle: ThrottlePublic}, // JSON or a form

	// Usage counters: record and read live with the reset, beside the
	// rollover job, so one function owns the usage items.
	{Method: "POST", Path: "/accounts/{accountId}/usage", Op: "recordUsage", Function: "usage-reset", Auth: true, BodyLimit: 1 * KiB, Idempotent: true},
	{Method: "GET", Path: "/accounts/{accountId}/usage", Op: "getUsage", Function: "usage-reset", Auth: true},
	{Method: "POST", Path: "/accounts/{accountId}/usage/reset", Op: "resetUsage", Function: "usage-reset", Auth: true, BodyLimit: 1 * KiB, Idempotent: true}, // no body, or {}

	// Linked accounts.
	{Method: "GET", Path: "/accounts/{accountId}/family", Op: "getFamily", Function: "link", Auth: true},
	{Method: "POST", Path: "/accounts/{accountId}/children", Op: "addChild", Function: "link", Auth: true, BodyLimit: 2 * KiB, Idempotent: true},
	{Method: "DELETE", Path: "/accounts/{accountId}/children/{childId}", Op: "unlinkChild", Function: "link", Auth: true},
	// External associates.
	{Method: "POST", Path: "/users/{userId}/associations", Op: "associateUser", Function: "link", Auth: true, BodyLimit: 8 * KiB, Idempotent: true},
	{Method: "PATCH", Path: "/accounts/{accountId}/associates/{userId}", Op: "changeAssociateRoles", Function: "link", Auth: true, BodyLimit: 2 * KiB, IfMatch: true},
	{Method: "DELETE", Path: "/accounts/{accountId}/associates/{userId}", Op: "removeAssociate", Function: "link", Auth: true},
	{Method: "POST", Path: "/me/switch-account", Op: "switchAccount", Function: "link", Auth: true, BodyLimit: 2 * KiB, NoKey: true},

	// Content and its reassignment: one function owns the items.
	{Method: "POST", Path: "/accounts/{accountId}/content", Op: "registerContent", Function: "reassign", Auth: true, BodyLimit: 2 * KiB, Idempotent: true},
	{Method: "GET", Path: "/accounts/{accountId}/content", Op: "listContent", Function: "reassign", Auth: true},
	{Method: "GET", Path: "/accounts/{accountId}/content/{contentId}", Op: "getContent", Function: "reassign", Auth: true},
	{Method: "DELETE", Path: "/accounts/{accountId}/content/{contentId}", Op: "deleteContent", Function: "reassign", Auth: true, IfMatch: true},
	{Method: "POST", Path: "/users/{userId}/reassign-content", Op: "reassignContent", Function: "reassign", Auth: true, BodyLimit: 1 * KiB, Idempotent: true},
	{Method: "GET", Path: "/reassignments/{jobId}", Op: "getReassignment", Function: "reassign", Auth: true},

	// Administration: reading (accounts), changes (edit), removals (delete).
	{Method: "GET", Path: "/accounts", Op: "listAccounts", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/accounts/export.csv", Op: "exportAccounts", Function: "accounts", Auth: true, NoStore: true},
	{Method: "GET", Path: "/accounts/{accountId}", Op: "getAccount", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/accounts/{accountId}/users", Op: "listMembers", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/accounts/{accountId}/users/export.csv", Op: "exportMembers", Function: "accounts", Auth: true, NoStore: true},
	{Method: "GET", Path: "/accounts/{accountId}/changes", Op: "listAccountChanges", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/users/{userId}", Op: "getUser", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/users/{userId}/changes", Op: "listUserChanges", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/users/{userId}/access-history", Op: "listAccessHistory", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/accounts/{accountId}/access-history", Op: "listAccountAccessHistory", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/accounts/{accountId}/access-history/export.csv", Op: "exportAccountAccessHistory", Function: "accounts", Auth: true, NoStore: true},
	{Method: "POST", Path: "/accounts/{accountId}/reopen", Op: "reopenAccount", Function: "edit", Auth: true, BodyLimit: 4 * KiB}, // an account closed with its data kept
	{Method: "POST", Path: "/accounts", Op: "createAccount", Function: "edit", Auth: true, BodyLimit: 8 * KiB, Idempotent: true},
	{Method: "PATCH", Path: "/accounts/{accountId}", Op: "renameAccount", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "POST", Path: "/accounts/{accountId}/users", Op: "addUser", Function: "edit", Auth: true, BodyLimit: 8 * KiB, Idempotent: true, NoKey: true}, // a user added without an invitation
	{Method: "GET", Path: "/roles", Op: "listRoles", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/tenant/changes", Op: "listTenantChanges", Function: "accounts", Auth: true}, // the tenant-level change log: close, reopen, wipe
	{Method: "GET", Path: "/tenant/settings", Op: "getTenantSettings", Function: "accounts", Auth: true},
	{Method: "GET", Path: "/plans", Op: "listPlans", Function: "accounts", Auth: true},
	{Method: "PUT", Path: "/accounts/{accountId}/plan", Op: "setAccountPlan", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PUT", Path: "/accounts/{accountId}/licences/{licence}", Op: "setSeats", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PUT", Path: "/accounts/{accountId}/users/{userId}/roles", Op: "setRoles", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PUT", Path: "/accounts/{accountId}/users/{userId}/licence", Op: "assignLicence", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PATCH", Path: "/users/{userId}", Op: "editProfile", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PUT", Path: "/users/{userId}/password", Op: "setUserPassword", Function: "edit", Auth: true, BodyLimit: 8 * KiB, NoKey: true},
	{Method: "DELETE", Path: "/users/{userId}/two-factor", Op: "resetTwoFactor", Function: "edit", Auth: true, NoKey: true}, // an admin's reset: enrol again at next sign-in
	{Method: "POST", Path: "/users/{userId}/suspend", Op: "suspendUser", Function: "edit", Auth: true, Idempotent: true},
	{Method: "POST", Path: "/users/{userId}/reactivate", Op: "reactivateUser", Function: "edit", Auth: true, Idempotent: true},
	{Method: "POST", Path: "/users/{userId}/sign-out", Op: "signOutEverywhere", Function: "edit", Auth: true, Idempotent: true},
	{Method: "POST", Path: "/me/password", Op: "changeOwnPassword", Function: "edit", Auth: true, BodyLimit: 8 * KiB, NoStore: true, NoKey: true}, // answers a new session: never stored
	{Method: "PUT", Path: "/roles/{roleName}", Op: "putRole", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "DELETE", Path: "/roles/{roleName}", Op: "deleteRole", Function: "edit", Auth: true},
	{Method: "PATCH", Path: "/tenant/settings", Op: "updateTenantSettings", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "PUT", Path: "/plans/{planId}", Op: "putPlan", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	// The tenant's catalogue of licence types.
	{Method: "GET", Path: "/licence-types", Op: "listLicenceTypes", Function: "accounts", Auth: true},
	{Method: "PUT", Path: "/licence-types/{licence}", Op: "putLicenceType", Function: "edit", Auth: true, BodyLimit: 8 * KiB, IfMatch: true},
	{Method: "POST", Path: "/users/delete", Op: "deleteUsers", Function: "delete", Auth: true, BodyLimit: 16 * KiB, Idempotent: true},
	{Method: "DELETE", Path: "/users/{userId}", Op: "deleteUser", Function: "delete", Auth: true},
	{Method: "DELETE", Path: "/accounts/{accountId}/users/{userId}", Op: "removeMembership", Function: "delete", Auth: true},
	// Not idempotent: a close is safe to repeat (it continues a wipe), and
	// an unfinished wipe's 202 must not be replayed.
	{Method: "POST", Path: "/accounts/{accountId}/close", Op: "closeAccount", Function: "delete", Auth: true, BodyLimit: 4 * KiB},

	// API keys (machine credentials): the answer of a create holds the
	// secret, shown once (no-store, never replayed); no key mints a key.
	{Method: "POST", Path: "/tenant/api-keys", Op: "createTenantAPIKey", Function: "edit", Auth: true, BodyLimit: 2 * KiB, NoStore: true, NoKey: true},
	{Method: "GET", Path: "/tenant/api-keys", Op: "listTenantAPIKeys", Function: "accounts", Auth: true},
	{Method: "DELETE", Path: "/tenant/api-keys/{keyId}", Op: "revokeTenantAPIKey", Function: "edit", Auth: true},
	{Method: "POST", Path: "/accounts/{accountId}/api-keys", Op: "createAccountAPIKey", Function: "edit", Auth: true, BodyLimit: 2 * KiB, NoStore: true, NoKey: true},
	{Method: "GET", Path: "/accounts/{accountId}/api-keys", Op: "listAccountAPIKeys", Function: "accounts", Auth: true},
	{Method: "DELETE", Path: "/accounts/{accountId}/api-keys/{keyId}", Op: "revokeAccountAPIKey", Function: "edit", Auth: true},
}

// byKey indexes Table by route key, so that a lookup on a request path
// neither scans nor allocates. It is built on first use: a function's init
// stays cheap (cold starts).
var byKey = sync.OnceValue(func() map[string]Route {
	m := make(map[string]Route, len(Table))
	for _, r := range Table {
		m[r.Key()] = r
	}
	return m
})

// byOp indexes Table by operation, built on first use as byKey is.
var byOp = sync.OnceValue(func() map[string]Route {
	m := make(map[string]Route, len(Table))
	for _, r := range Table {
		m[r.Op] = r
	}
	return m
})

// LookupOp finds the route of an operation ("signIn").
func LookupOp(op string) (Route, bool) {
	r, ok := byOp()[op]
	return r, ok
}

// Lookup finds the route of a route key ("POST /auth/sign-in").
func Lookup(key string) (Route, bool) {
	r, ok := byKey()[key]
	return r, ok
}

// BodyLimit is the body limit of the route of key (httpapi.Server.Serve
// applies it); an unknown key has none (any body is too large).
func BodyLimit(key string) int {
	return byKey()[key].BodyLimit
}

// Jobs are the scheduled functions.
var Jobs = []Job{
	{Name: "expire-invitations", Function: "expire-invitations", Schedule: "rate(1 hour)", DetailType: "Scheduled Event"},
	{Name: "usage-rollover", Function: "usage-reset", Schedule: "cron(5 * * * ? *)", DetailType: "Usage Rollover"}, // hourly at :05
	{Name: "resume-reassignments", Function: "reassign", Schedule: "rate(2 minutes)", DetailType: "Resume Reassignments"},
}

// StreamConsumers are the functions fed by the table's stream rather than
// by a route or a schedule.
var StreamConsumers = []string{PublishEvents}

// MailEventConsumers are the functions fed by SES's events about sent mail
// (bounces, complaints, delivery delays, rejections) through an SNS topic.
var MailEventConsumers = []string{SESEvents}

// SESEvents records SES's reports on the invitation and the suppression list.
const SESEvents = "ses-events"

// PublishEvents puts every new change-log entry on the service's event bus.
const PublishEvents = "publish-events"

// Functions lists every function folder: the route handlers, the jobs and
// the stream consumers.
func Functions() []string {
	seen := map[string]bool{}
	var out []string
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
	for _, f := range StreamConsumers {
		add(f)
	}
	for _, f := range MailEventConsumers {
		add(f)
	}
	return out
}
