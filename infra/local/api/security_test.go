package api_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
)

// securityRow is one route of the security matrix. prepare builds, on fresh
// state, a request the rightful caller may send and that succeeds (want):
// so when another caller sends the same request and is refused, the refusal
// comes from the security rule, not from bad input.
type securityRow struct {
	route   string
	prepare func(t *testing.T, w *securityWorld) probe
	want    int // the rightful caller's status

	// viewer is what A1's Viewer gets with the same request: 403 on every
	// write, what the role allows on reads. selfService routes act on the
	// caller themselves (their own session, password, profile): the
	// viewer's own call is a rightful one, so no viewer probe.
	viewer      int
	selfService bool
	// otherAdmin is what the Admin of A2 (same tenant) gets: 403 or 404;
	// 0 where the route names no account or user they do not administer.
	otherAdmin int
	// admin is what A1's Admin gets where only tenant operators may (403);
	// 0 where A1's Admin is the rightful caller.
	admin int
	// crossTenant is what tenant B's operator gets naming A's ids: 404;
	// 0 where the request names no id (the caller acts in its own tenant).
	crossTenant int
	// account marks work inside a customer account: a tenant operator not
	// switched into it, and one switched into another account, get 403
	// switch_required (tenant administration needs no switch: unmarked).
	account bool

	// bulk routes answer 200 with a result per id: a refusal is each
	// result's status (and nothing done).
	bulk bool
}

// The callers of the matrix, as the test names them.
const (
	noSession     = "no session"
	forgedContext = "a forged authorizer context"
	suspended     = "a suspended user"
	revoked       = "a revoked session"
	relabelled    = "tenant B's token relabelled as tenant A's"
	crossTenant   = "tenant B's operator"
	viewer        = "A1's viewer"
	otherAdmin    = "A2's admin"
	adminOfA1     = "A1's admin"
	unswitched    = "tenant A's operator, not switched"
	elsewhere     = "tenant A's operator, switched into A2"
	rightfulCall  = "the rightful caller"
)

// publicRoutes are the routes served without a session: signing in, and the
// invitation link (the invitee may have no account yet).
var publicRoutes = []string{
	"POST /auth/sign-in",
	"POST /auth/sign-in/verify",
	"POST /auth/sign-in/sms",
	"GET /invitations/accept",
	"POST /invitations/accept",
}

// Passwords the matrix sets, and the wrong one it tries.
const (
	strongPassword = "Copper-Lantern-58-Ridge"
	wrongPassword  = "Wrong-Password-99"
)

func jsonBody(v any) string { b, _ := json.Marshal(v); return string(b) }

// idem is an Idempotency-Key header (as the sample events send): refused
// requests must leave no idempotency record, and stored responses no secret.
func idem(key string, more ...string) map[string]string {
	h := map[string]string{"Idempotency-Key": "security-" + key}
	for i := 0; i+1 < len(more); i += 2 {
		h[more[i]] = more[i+1]
	}
	return h
}

// securityMatrix has one row per route of routes.Table.
var securityMatrix = []securityRow{
	// Sessions.
	{route: "POST /auth/sign-in", want: 201, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		return probe{method: "POST", path: "/auth/sign-in", body: jsonBody(map[string]string{"tenant": w.a.ID(), "email": m.Email, "password": m.Password})}
	}},
	{route: "POST /auth/sign-out", want: 204, selfService: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/auth/sign-out", as: w.signIn(t, w.a, w.a.AdminEmail, "")}
	}},
	{route: "GET /me", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/me", as: w.adminTok}
	}},

	// Second factors: the second step of a sign-in, and one's own enrolment.
	{route: "POST /auth/sign-in/verify", want: 201, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		key := w.enrolTOTP(t, m)
		code := twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now())+1)
		return probe{method: "POST", path: "/auth/sign-in/verify", body: jsonBody(map[string]string{"challenge": w.challenge(t, m), "code": code})}
	}},
	{route: "POST /auth/sign-in/sms", want: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		w.enrolTOTP(t, m)
		w.verifiedPhone(t, m)
		return probe{method: "POST", path: "/auth/sign-in/sms", body: jsonBody(map[string]string{"challenge": w.challenge(t, m)})}
	}},
	{route: "GET /me/two-factor", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/me/two-factor", as: w.adminTok}
	}},
	{route: "POST /me/two-factor", want: 200, selfService: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		return probe{method: "POST", path: "/me/two-factor", body: jsonBody(map[string]string{"method": "totp", "currentPassword": testkit.Password}), as: w.signIn(t, w.a, m.Email, "")}
	}},
	{route: "POST /me/two-factor/confirm", want: 200, selfService: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		tok := w.signIn(t, w.a, m.Email, "")
		key := w.startTOTP(t, m)
		code := twofactor.TOTPCode(key, twofactor.Step(w.env.Clock.Now()))
		return probe{method: "POST", path: "/me/two-factor/confirm", body: jsonBody(map[string]string{"method": "totp", "code": code}), as: tok}
	}},
	{route: "POST /me/two-factor/recovery-codes", want: 200, selfService: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		tok := w.signIn(t, w.a, m.Email, "")
		w.enrolTOTP(t, m)
		return probe{method: "POST", path: "/me/two-factor/recovery-codes", body: jsonBody(map[string]string{"currentPassword": testkit.Password}), as: tok}
	}},

	// Invitations.
	{route: "POST /accounts/{accountId}/invitations", want: 201, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/invitations", as: w.adminTok, headers: idem("invite"),
			body: jsonBody(map[string]any{"emails": []string{w.email(w.a, "new")}, "roles": []string{"Viewer"}, "sendEmail": false})}
	}},
	{route: "GET /accounts/{accountId}/invitations", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/invitations?status=pending", as: w.adminTok}
	}},
	{route: "POST /invitations/{invitationId}/resend", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		id, _ := w.invitation(t)
		return probe{method: "POST", path: "/invitations/" + id + "/resend", body: `{"sendEmail":false}`, headers: idem("resend", "If-Match", `"1"`), as: w.adminTok}
	}},
	{route: "DELETE /invitations/{invitationId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		id, _ := w.invitation(t)
		return probe{method: "DELETE", path: "/invitations/" + id, headers: map[string]string{"If-Match": `"1"`}, as: w.adminTok}
	}},
	{route: "GET /invitations/accept", want: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		_, token := w.invitation(t)
		return probe{method: "GET", path: "/invitations/accept?token=" + url.QueryEscape(token), headers: map[string]string{"Accept": "text/html"}}
	}},
	{route: "POST /invitations/accept", want: 201, prepare: func(t *testing.T, w *securityWorld) probe {
		_, token := w.invitation(t)
		w.remember(strongPassword)
		return probe{method: "POST", path: "/invitations/accept",
			body: jsonBody(map[string]string{"token": token, "firstName": "Grace", "lastName": "Hopper", "password": strongPassword})}
	}},

	// Usage counters.
	{route: "POST /accounts/{accountId}/usage", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/usage", body: `{"metric":"tasks","amount":1}`, headers: idem("usage"), as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/usage", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/usage", as: w.adminTok}
	}},
	{route: "POST /accounts/{accountId}/usage/reset", want: 200, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/usage/reset", headers: idem("reset"), as: w.operatorTok}
	}},

	// Linked accounts.
	{route: "GET /accounts/{accountId}/family", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/family", as: w.adminTok}
	}},
	{route: "POST /accounts/{accountId}/children", want: 201, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/children", body: `{"name":"New child"}`, headers: idem("child"), as: w.operatorTok}
	}},
	{route: "DELETE /accounts/{accountId}/children/{childId}", want: 204, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "DELETE", path: "/accounts/" + w.a.AccountID + "/children/" + w.linkedChild(t), as: w.operatorTok}
	}},

	// External associates: client is an account A1's admin administers.
	{route: "POST /users/{userId}/associations", want: 201, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		client, advisor := w.account(t, "Client"), w.member(t, w.a.AccountID, "")
		return probe{method: "POST", path: "/users/" + advisor.ID + "/associations", as: w.operatorTok, headers: idem("associate"),
			body: jsonBody(map[string]any{"accounts": []map[string]any{{"accountId": client, "roles": []string{"Viewer"}}}})}
	}},
	{route: "PATCH /accounts/{accountId}/associates/{userId}", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		client, advisor := w.account(t, "Client"), w.member(t, w.a.AccountID, "")
		w.associate(t, client, advisor.ID)
		return probe{method: "PATCH", path: "/accounts/" + client + "/associates/" + advisor.ID, body: `{"roles":["Admin"]}`,
			headers: map[string]string{"If-Match": `"1"`}, as: w.adminTok}
	}},
	{route: "DELETE /accounts/{accountId}/associates/{userId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		client, advisor := w.account(t, "Client"), w.member(t, w.a.AccountID, "")
		w.associate(t, client, advisor.ID)
		return probe{method: "DELETE", path: "/accounts/" + client + "/associates/" + advisor.ID, as: w.adminTok}
	}},
	// Switching names an account: the viewer and the other admin are not
	// members of this one (the viewer is added by w.account, so use a bare one).
	{route: "POST /me/switch-account", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		client := w.env.AddAccount(t, w.a, "Client")
		w.env.AddMembership(t, w.a, client, w.a.AdminID, w.a.AdminEmail, access.RoleAdmin)
		// Operators say why they enter a customer account: the reason makes
		// the request valid for tenant B's operator too.
		return probe{method: "POST", path: "/me/switch-account", body: jsonBody(map[string]string{"accountId": client, "reason": "security matrix"}),
			as: w.signIn(t, w.a, w.a.AdminEmail, "")}
	}},

	// Content and reassignment.
	{route: "POST /accounts/{accountId}/content", want: 201, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/content", as: w.adminTok, headers: idem("content"),
			body: jsonBody(map[string]string{"type": "automation", "name": "Invoice sync", "ownerId": w.a.AdminID})}
	}},
	{route: "GET /accounts/{accountId}/content", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/content", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/content/{contentId}", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/content/" + w.content(t, w.a.AdminID), as: w.adminTok}
	}},
	{route: "DELETE /accounts/{accountId}/content/{contentId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "DELETE", path: "/accounts/" + w.a.AccountID + "/content/" + w.content(t, w.a.AdminID),
			headers: map[string]string{"If-Match": `"1"`}, as: w.adminTok}
	}},
	{route: "POST /users/{userId}/reassign-content", want: 202, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		source := w.member(t, w.a.AccountID, "")
		w.content(t, source.ID)
		return probe{method: "POST", path: "/users/" + source.ID + "/reassign-content", as: w.adminTok, headers: idem("reassign"),
			// The account is named: by default it is the caller's active one.
			body: jsonBody(map[string]string{"targetUserId": w.a.AdminID, "accountId": w.a.AccountID})}
	}},
	{route: "GET /reassignments/{jobId}", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/reassignments/" + w.reassignment(t), as: w.adminTok}
	}},

	// Administration: reading.
	{route: "GET /accounts", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts", as: w.adminTok}
	}},
	{route: "GET /accounts/export.csv", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/export.csv", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID, as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/users", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/users", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/users/export.csv", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/users/export.csv", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/changes", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/changes", as: w.adminTok}
	}},
	{route: "GET /users/{userId}", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/users/" + w.member(t, w.a.AccountID, "").ID, as: w.adminTok}
	}},
	{route: "GET /users/{userId}/changes", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/users/" + w.member(t, w.a.AccountID, "").ID + "/changes", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/access-history", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/access-history", as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/access-history/export.csv", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/access-history/export.csv", as: w.adminTok}
	}},
	{route: "GET /users/{userId}/access-history", want: 200, viewer: 200, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/users/" + w.member(t, w.a.AccountID, "").ID + "/access-history", as: w.adminTok}
	}},
	{route: "GET /licence-types", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/licence-types", as: w.adminTok}
	}},
	{route: "GET /roles", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/roles", as: w.adminTok}
	}},
	{route: "GET /tenant/settings", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/tenant/settings", as: w.adminTok}
	}},
	{route: "GET /plans", want: 200, viewer: 200, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/plans", as: w.adminTok}
	}},
	{route: "GET /tenant/changes", want: 200, viewer: 403, admin: 403, otherAdmin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "GET", path: "/tenant/changes?limit=5", as: w.operatorTok}
	}},

	// Administration: changes to an account.
	{route: "POST /accounts", want: 201, viewer: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts", body: `{"name":"Another customer"}`, headers: idem("account"), as: w.operatorTok}
	}},
	{route: "PATCH /accounts/{accountId}", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PATCH", path: "/accounts/" + w.a.AccountID, body: `{"name":"Renamed account"}`, as: w.adminTok}
	}},
	{route: "POST /accounts/{accountId}/users", want: 201, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		w.remember(strongPassword)
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/users", headers: idem("add-user"), as: w.adminTok,
			body: jsonBody(map[string]any{"email": "added-" + w.env.IDs.NewID()[20:] + "@example.org", "firstName": "Noor", "lastName": "Hire",
				"roles": []string{access.RoleViewer}, "adminPassword": testkit.Password, "password": strongPassword})}
	}},
	{route: "PUT /accounts/{accountId}/plan", want: 200, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		w.plan(t, "basic")
		return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/plan", body: `{"planId":"basic","overrides":{"tasks":2500}}`, as: w.operatorTok}
	}},
	{route: "PUT /accounts/{accountId}/licences/{licence}", want: 200, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/licences/office", body: `{"purchased":25}`, as: w.operatorTok}
	}},
	{route: "PUT /accounts/{accountId}/users/{userId}/roles", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + w.member(t, w.a.AccountID, "").ID + "/roles", body: `{"roles":["Admin","Viewer"]}`, as: w.adminTok}
	}},
	{route: "PUT /accounts/{accountId}/users/{userId}/licence", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		w.seats(t, "office", 1000)
		return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + w.member(t, w.a.AccountID, "-").ID + "/licence", body: `{"licence":"office"}`, as: w.adminTok}
	}},

	// Administration: changes to a user.
	{route: "PATCH /users/{userId}", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PATCH", path: "/users/" + w.member(t, w.a.AccountID, "").ID, body: `{"firstName":"Grace","timeZone":"Europe/London"}`, as: w.adminTok}
	}},
	{route: "PUT /users/{userId}/password", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		w.remember(strongPassword)
		return probe{method: "PUT", path: "/users/" + w.member(t, w.a.AccountID, "").ID + "/password", as: w.adminTok,
			body: jsonBody(map[string]string{"adminPassword": testkit.Password, "password": strongPassword})}
	}},
	{route: "DELETE /users/{userId}/two-factor", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		w.enrolled(t, m)
		return probe{method: "DELETE", path: "/users/" + m.ID + "/two-factor", as: w.adminTok}
	}},
	{route: "POST /users/{userId}/suspend", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/users/" + w.member(t, w.a.AccountID, "").ID + "/suspend", headers: idem("suspend"), as: w.adminTok}
	}},
	{route: "POST /users/{userId}/reactivate", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		if _, err := administration.New(w.env.Service()).Suspend(context.Background(), w.adminCaller(), m.ID); err != nil {
			t.Fatal(err)
		}
		return probe{method: "POST", path: "/users/" + m.ID + "/reactivate", as: w.adminTok}
	}},
	{route: "POST /users/{userId}/sign-out", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		w.signIn(t, w.a, m.Email, "")
		return probe{method: "POST", path: "/users/" + m.ID + "/sign-out", as: w.adminTok}
	}},
	{route: "POST /me/password", want: 200, selfService: true, prepare: func(t *testing.T, w *securityWorld) probe {
		m := w.member(t, w.a.AccountID, "")
		w.remember(strongPassword)
		return probe{method: "POST", path: "/me/password", as: w.signIn(t, w.a, m.Email, ""),
			body: jsonBody(map[string]string{"currentPassword": testkit.Password, "newPassword": strongPassword, "confirmation": strongPassword})}
	}},

	// Tenant-wide settings: tenant operators only, so the Admins are
	// refused too; a role name of tenant A means nothing in tenant B.
	{route: "PUT /roles/{roleName}", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PUT", path: "/roles/Editor", body: `{"permissions":["users.read","users.edit"]}`, as: w.operatorTok}
	}},
	{route: "DELETE /roles/{roleName}", want: 204, viewer: 403, otherAdmin: 403, admin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		name := w.role(t)
		return probe{method: "DELETE", path: "/roles/" + name, as: w.operatorTok}
	}},
	{route: "PUT /licence-types/{licence}", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PUT", path: "/licence-types/contractor", body: `{"name":"Contractor"}`, as: w.operatorTok}
	}},
	{route: "PATCH /tenant/settings", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PATCH", path: "/tenant/settings", body: `{"passwordPolicy":{"minLength":12,"requireClasses":true}}`, as: w.operatorTok}
	}},
	{route: "PUT /plans/{planId}", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "PUT", path: "/plans/pro", body: `{"name":"Pro","limits":{"tasks":10000}}`, as: w.operatorTok}
	}},

	// Removals.
	{route: "POST /users/delete", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, bulk: true, account: true,
		prepare: func(t *testing.T, w *securityWorld) probe {
			return probe{method: "POST", path: "/users/delete", headers: idem("delete"), body: jsonBody(map[string]any{"userIds": []string{w.member(t, w.a.AccountID, "").ID}}), as: w.adminTok}
		}},
	{route: "DELETE /users/{userId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "DELETE", path: "/users/" + w.member(t, w.a.AccountID, "").ID, as: w.adminTok}
	}},
	{route: "DELETE /accounts/{accountId}/users/{userId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "DELETE", path: "/accounts/" + w.a.AccountID + "/users/" + w.member(t, w.a.AccountID, "").ID, as: w.adminTok}
	}},
	{route: "POST /accounts/{accountId}/close", want: 200, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404,
		prepare: func(t *testing.T, w *securityWorld) probe {
			id := w.account(t, "Closing account")
			return probe{method: "POST", path: "/accounts/" + id + "/close", body: `{"confirmName":"Closing account","wipe":true}`, as: w.operatorTok}
		}},
	{route: "POST /accounts/{accountId}/reopen", want: 200, viewer: 403, admin: 403, otherAdmin: 403, crossTenant: 404,
		prepare: func(t *testing.T, w *securityWorld) probe {
			id := w.closedAccount(t, "Reopening account")
			return probe{method: "POST", path: "/accounts/" + id + "/reopen", body: `{"reason":"the customer is back"}`, as: w.operatorTok}
		}},

	// API keys: the tenant's are tenant administration (operators), an
	// account's are its Admins' work inside it.
	{route: "POST /tenant/api-keys", want: 201, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/tenant/api-keys", body: `{"name":"matrix-tenant"}`, as: w.operatorTok}
	}},
	{route: "GET /tenant/api-keys", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		w.apiKey(t, "")
		return probe{method: "GET", path: "/tenant/api-keys", as: w.operatorTok}
	}},
	{route: "DELETE /tenant/api-keys/{keyId}", want: 204, viewer: 403, otherAdmin: 403, admin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		id, _ := w.apiKey(t, "")
		return probe{method: "DELETE", path: "/tenant/api-keys/" + id, as: w.operatorTok}
	}},
	// The suppression list is tenant administration (operators).
	{route: "GET /tenant/suppressions", want: 200, viewer: 403, otherAdmin: 403, admin: 403, prepare: func(t *testing.T, w *securityWorld) probe {
		w.suppressed(t)
		return probe{method: "GET", path: "/tenant/suppressions", as: w.operatorTok}
	}},
	{route: "DELETE /tenant/suppressions/{email}", want: 204, viewer: 403, otherAdmin: 403, admin: 403, crossTenant: 404, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "DELETE", path: "/tenant/suppressions/" + url.PathEscape(w.suppressed(t)), as: w.operatorTok}
	}},
	{route: "POST /accounts/{accountId}/api-keys", want: 201, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/api-keys", body: `{"name":"matrix-account","role":"Viewer"}`, as: w.adminTok}
	}},
	{route: "GET /accounts/{accountId}/api-keys", want: 200, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		w.apiKey(t, w.a.AccountID)
		return probe{method: "GET", path: "/accounts/" + w.a.AccountID + "/api-keys", as: w.adminTok}
	}},
	{route: "DELETE /accounts/{accountId}/api-keys/{keyId}", want: 204, viewer: 403, otherAdmin: 403, crossTenant: 404, account: true, prepare: func(t *testing.T, w *securityWorld) probe {
		id, _ := w.apiKey(t, w.a.AccountID)
		return probe{method: "DELETE", path: "/accounts/" + w.a.AccountID + "/api-keys/" + id, as: w.adminTok}
	}},
}

// The matrix covers the route table exactly, and the public routes are
// exactly those that need no caller (Auth false).
func TestSecurityMatrixCoversEveryRoute(t *testing.T) {
	rows := map[string]bool{}
	for _, r := range securityMatrix {
		if rows[r.route] {
			t.Errorf("two rows for %s", r.route)
		}
		rows[r.route] = true
	}
	public := map[string]bool{}
	for _, k := range publicRoutes {
		public[k] = true
	}
	inTable := map[string]bool{}
	for _, r := range routes.Table {
		inTable[r.Key()] = true
		if !rows[r.Key()] {
			t.Errorf("route %s has no row in the security matrix", r.Key())
		}
		if public[r.Key()] == r.Auth {
			t.Errorf("route %s: Auth=%v in shared/routes, but the matrix lists it as public=%v", r.Key(), r.Auth, public[r.Key()])
		}
	}
	for k := range rows {
		if !inTable[k] {
			t.Errorf("matrix row %s is not a route", k)
		}
	}
	for k := range public {
		if !inTable[k] {
			t.Errorf("public route %s is not a route", k)
		}
	}
}

// TestSecurityMatrix runs every route as every kind of caller who must be
// refused, checks that nothing of the victim tenant changed, then as the
// rightful caller, who must succeed with the very same request.
func TestSecurityMatrix(t *testing.T) {
	w := newSecurityWorld(t)
	public := map[string]bool{}
	for _, k := range publicRoutes {
		public[k] = true
	}
	for _, row := range securityMatrix {
		t.Run(row.route, func(t *testing.T) {
			p := row.prepare(t, w)
			write := p.method != "GET"
			if write && !row.selfService && !public[row.route] && row.viewer != 403 {
				t.Fatalf("matrix: a write route must refuse the viewer (403), or be self-service")
			}
			check := func(who string, got, want int, body []byte) {
				t.Helper()
				if row.bulk && got == 200 && who != rightfulCall {
					got = bulkStatus(t, body)
				}
				if got == want {
					return
				}
				t.Errorf("%s %s as %s: status %d, want %d: %.300s", p.method, p.path, who, got, want, body)
			}
			before := w.tenantItems(t, w.a)

			if !public[row.route] {
				status, body, hdr := w.do(t, "", p)
				check(noSession, status, 401, body)
				if hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(body), `"code":"unauthenticated"`) {
					t.Errorf("%s: 401 must be problem+json unauthenticated: %s", noSession, body)
				}
				// What the removed authorizer put in the event gains nothing:
				// alone it is no session, and beside the viewer's session the
				// caller is the viewer.
				status, body = w.forged(t, "", p)
				check(forgedContext, status, 401, body)
				if row.viewer != 0 && !row.selfService {
					status, body = w.forged(t, w.viewerTok, p)
					check(forgedContext+" beside the viewer's session", status, row.viewer, body)
				}
				for _, bad := range []struct{ who, token, why string }{
					{suspended, w.suspendedTok, "cannot sign in (suspended)"},
					{revoked, w.revokedTok, "signed out"},
					{relabelled, w.relabelledTok(), `"code":"unauthenticated"`},
				} {
					status, body, hdr := w.do(t, bad.token, p)
					check(bad.who, status, 401, body)
					if ct := hdr.Get("Content-Type"); status == 401 && (ct != "application/problem+json" || !strings.Contains(string(body), bad.why)) {
						t.Errorf("%s: 401 must be problem+json saying %q: %s %s", bad.who, bad.why, ct, body)
					}
				}
			}
			if row.crossTenant != 0 {
				status, body, _ := w.do(t, w.attackerTok, p)
				check(crossTenant, status, row.crossTenant, body)
			}
			if row.viewer != 0 && !row.selfService {
				status, body, _ := w.do(t, w.viewerTok, p)
				check(viewer, status, row.viewer, body)
			}
			if row.otherAdmin != 0 {
				status, body, _ := w.do(t, w.otherAdminTok, p)
				check(otherAdmin, status, row.otherAdmin, body)
			}
			if row.admin != 0 {
				status, body, _ := w.do(t, w.adminTok, p)
				check(adminOfA1, status, row.admin, body)
			}
			if row.account {
				for _, op := range []struct{ who, token string }{{unswitched, w.operatorTok}, {elsewhere, w.elsewhereTok}} {
					status, body, _ := w.do(t, op.token, p)
					if row.bulk && status == 200 {
						status = bulkStatus(t, body)
					}
					if status != 403 || (!row.bulk && !strings.Contains(string(body), `"code":"switch_required"`)) {
						t.Errorf("%s %s as %s: %d, want 403 switch_required: %.300s", p.method, p.path, op.who, status, body)
					}
				}
			}
			// Reads that name no id answer from the caller's own scope: tenant
			// B's operator sees nothing of tenant A, and A2's admin nothing
			// of A1.
			if p.method == "GET" && row.crossTenant == 0 && !public[row.route] {
				for _, c := range []struct{ who, token, hidden string }{
					{crossTenant, w.attackerTok, w.a.ID()}, {otherAdmin, w.otherAdminTok, w.a.AccountID},
				} {
					status, body, _ := w.do(t, c.token, p)
					if c.who == otherAdmin && row.otherAdmin == 403 {
						// Operators only (the tenant's own log): refused outright.
						if status != 403 {
							t.Errorf("%s %s as %s: %d, want 403: %.300s", p.method, p.path, c.who, status, body)
						}
						continue
					}
					if status != 200 || strings.Contains(string(body), c.hidden) {
						t.Errorf("%s %s as %s: %d, must be 200 showing nothing of %s: %.300s", p.method, p.path, c.who, status, c.hidden, body)
					}
				}
			}
			// A bulk route's answer is its report, a refusal per id: the
			// Idempotency-Key keeps it to replay, as for any 2xx. Nothing
			// else may change.
			changed := diff(before, w.tenantItems(t, w.a))
			if len(changed) > 0 && !public[row.route] && !(row.bulk && onlyIdempotencyRecords(changed)) {
				t.Errorf("refused requests changed tenant A: %v", changed)
			}

			status, body, _ := w.do(t, p.as, p)
			check(rightfulCall, status, row.want, body)
			w.rememberFrom(body)
			w.rememberSecondFactor(body)
		})
	}
	t.Run("an associate stays their home account's", func(t *testing.T) { w.checkAssociateHome(t) })
	t.Run("sign-in does not reveal whether an email exists", func(t *testing.T) { w.checkSignInSameAnswer(t) })
	t.Run("inviting does not reveal whether an email exists", func(t *testing.T) { w.checkInviteSameAnswer(t) })
	t.Run("emailed secrets", func(t *testing.T) { w.emailedSecrets(t) })
	t.Run("no secret in the table or the logs", func(t *testing.T) { w.checkNoSecrets(t) })
}

func onlyIdempotencyRecords(changed []string) bool {
	for _, c := range changed {
		if !strings.HasPrefix(c, "added ") || !strings.HasSuffix(c, "| IDEMPOTENCY") {
			return false
		}
	}
	return true
}

// bulkStatus is the status every result of a bulk answer shares (0 when
// they differ or something was done).
func bulkStatus(t *testing.T, body []byte) int {
	t.Helper()
	var out struct {
		Results []struct {
			Status int `json:"status"`
		} `json:"results"`
		Deleted int `json:"deleted"`
	}
	if err := json.Unmarshal(body, &out); err != nil || len(out.Results) == 0 || out.Deleted != 0 {
		return 0
	}
	for _, r := range out.Results {
		if r.Status != out.Results[0].Status {
			return 0
		}
	}
	return out.Results[0].Status
}
