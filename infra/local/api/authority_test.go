package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
)

// customRole defines a custom role of tenant A (operators do).
func (w *securityWorld) customRole(t *testing.T, name string, perms ...access.Action) {
	t.Helper()
	if _, err := administration.New(w.env.Service()).PutRole(context.Background(),
		administration.PutRole{Caller: w.operatorCaller(), Name: name, Permissions: perms}); err != nil {
		t.Fatalf("define role %s: %v", name, err)
	}
}

// holder adds a member of A1 holding roles and signs them in.
func (w *securityWorld) holder(t *testing.T, roles ...string) (testkit.User, string) {
	t.Helper()
	u := w.env.AddUser(t, w.a, w.a.AccountID, w.email(w.a, "holder"), "", roles...)
	return u, w.signIn(t, w.a, u.Email, "")
}

func problemCode(body []byte) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(body, &p)
	return p.Code
}

// Every route that grants or changes roles: a member whose custom role
// holds exactly the route's permission may not grant Admin, nor a role
// holding a permission they lack, nor change their own roles; each refusal
// is 403 with its code and changes nothing. An Admin's same request
// succeeds.
func TestGrantsStayWithinTheGrantorsRights(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	w.customRole(t, "Deleter", access.DeleteUsers)
	type grantRoute struct {
		route  string
		perm   access.Action
		want   int // the Admin's status
		target func(t *testing.T) string
		probe  func(target string, roles []string, as string) probe
	}
	member := func(t *testing.T) string { return w.member(t, w.a.AccountID, "").ID }
	associate := func(t *testing.T) string {
		u := w.env.AddUser(t, w.a, w.a2, w.email(w.a, "consultant"), "", access.RoleViewer)
		w.associate(t, w.a.AccountID, u.ID)
		return u.ID
	}
	routes := []grantRoute{
		{"PUT /accounts/{accountId}/users/{userId}/roles", access.ManageRoles, 200, member, func(target string, roles []string, as string) probe {
			return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + target + "/roles", body: jsonBody(map[string]any{"roles": roles}), as: as}
		}},
		{"PATCH /accounts/{accountId}/associates/{userId}", access.ManageRoles, 200, associate, func(target string, roles []string, as string) probe {
			return probe{method: "PATCH", path: "/accounts/" + w.a.AccountID + "/associates/" + target, body: jsonBody(map[string]any{"roles": roles}), as: as}
		}},
		{"POST /accounts/{accountId}/invitations", access.InviteUsers, 201, func(t *testing.T) string { return "" }, func(_ string, roles []string, as string) probe {
			return probe{method: "POST", path: "/accounts/" + w.a.AccountID + "/invitations", as: as,
				body: jsonBody(map[string]any{"emails": []string{w.email(w.a, "invitee")}, "roles": roles, "sendEmail": false})}
		}},
	}
	for _, r := range routes {
		t.Run(r.route, func(t *testing.T) {
			role := "Only-" + strings.ReplaceAll(string(r.perm), ".", "-")
			w.customRole(t, role, r.perm)
			grantor, tok := w.holder(t, role)
			attempts := []struct {
				name   string
				target string
				roles  []string
				code   string
			}{
				{"Admin", r.target(t), []string{access.RoleAdmin}, "grant_exceeds_rights"},
				{"a role holding what they lack", r.target(t), []string{"Deleter"}, "grant_exceeds_rights"},
			}
			if r.perm == access.ManageRoles {
				attempts = append(attempts, struct {
					name   string
					target string
					roles  []string
					code   string
				}{"their own roles", grantor.ID, []string{access.RoleAdmin}, "own_roles"})
			}
			for _, a := range attempts {
				before := w.tenantItems(t, w.a)
				p := r.probe(a.target, a.roles, tok)
				status, body, _ := w.do(t, tok, p)
				if status != 403 || problemCode(body) != a.code {
					t.Errorf("%s granting %s: %d %s, want 403 %s", role, a.name, status, body, a.code)
				}
				if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 {
					t.Errorf("%s granting %s changed: %v", role, a.name, changed)
				}
				if a.code == "own_roles" {
					continue
				}
				if status, body, _ := w.do(t, w.adminTok, p); status != r.want {
					t.Errorf("the Admin granting %s: %d %s, want %d", a.name, status, body, r.want)
				}
			}
			// Within their rights the holder succeeds: Viewer is every member's.
			if status, body, _ := w.do(t, tok, r.probe(r.target(t), []string{access.RoleViewer}, tok)); status != r.want {
				t.Errorf("%s granting Viewer: %d %s, want %d", role, status, body, r.want)
			}
		})
	}
}

// addOperatorMember creates a tenant operator whose home is home, where
// they hold a licensed Viewer membership (the support team's account), and
// returns their id and email.
func (w *securityWorld) addOperatorMember(t *testing.T, home string) (string, string) {
	t.Helper()
	hash, err := identity.HashPassword(testkit.Password)
	if err != nil {
		t.Fatal(err)
	}
	email := w.email(w.a, "support")
	now := w.env.Clock.Now()
	u := identity.NewUser(w.a.Tenant, identity.User{ID: w.env.IDs.NewID(), Email: email, FirstName: "Sam", LastName: "Support",
		PasswordHash: hash, Status: identity.UserActive, Operator: true, HomeAccountID: home, CreatedAt: now, UpdatedAt: now})
	if err := w.env.Store.Transact(context.Background(), "add operator member",
		store.Put(u).If(store.NotExists()), store.Put(identity.NewEmailClaim(w.a.Tenant, email, u.ID)).If(store.NotExists())); err != nil {
		t.Fatal(err)
	}
	w.env.AddMembership(t, w.a, home, u.ID, email, access.RoleViewer)
	return u.ID, email
}

// Support staff are administered only by operators: the Admin of the
// operator's own home account is refused each of the actions that would
// let them take the operator over; an operator succeeds.
func TestOperatorsAreAdministeredOnlyByOperators(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	w.seats(t, "office", 100)
	// An operator of another support team, switched into A1 with a reason:
	// roles and licences are account work.
	_, otherEmail := w.addOperatorMember(t, w.a2)
	switched := w.signIn(t, w.a, otherEmail, "")
	if status, body, _ := w.do(t, switched, probe{method: "POST", path: "/me/switch-account",
		body: jsonBody(map[string]string{"accountId": w.a.AccountID, "reason": "ticket 4711"})}); status != 200 {
		t.Fatalf("switch: %d %s", status, body)
	}
	actions := []struct {
		name string
		op   string // the operator's token that succeeds
		want int
		req  func(id string) probe
	}{
		{"set their password", w.operatorTok, 200, func(id string) probe {
			w.remember(strongPassword)
			return probe{method: "PUT", path: "/users/" + id + "/password", body: jsonBody(map[string]string{"adminPassword": testkit.Password, "password": strongPassword})}
		}},
		{"change their email", w.operatorTok, 200, func(id string) probe {
			return probe{method: "PATCH", path: "/users/" + id, body: jsonBody(map[string]string{"email": w.email(w.a, "taken-over")})}
		}},
		{"sign them out", w.operatorTok, 204, func(id string) probe { return probe{method: "POST", path: "/users/" + id + "/sign-out"} }},
		{"change their roles", switched, 200, func(id string) probe {
			return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + id + "/roles", body: `{"roles":["Admin"]}`}
		}},
		{"change their licence", switched, 200, func(id string) probe {
			return probe{method: "PUT", path: "/accounts/" + w.a.AccountID + "/users/" + id + "/licence", body: `{"licence":"office"}`}
		}},
		{"suspend them", w.operatorTok, 200, func(id string) probe { return probe{method: "POST", path: "/users/" + id + "/suspend"} }},
		{"reactivate them", w.operatorTok, 200, func(id string) probe { return probe{method: "POST", path: "/users/" + id + "/reactivate"} }},
		{"delete them", w.operatorTok, 204, func(id string) probe { return probe{method: "DELETE", path: "/users/" + id} }},
	}
	id, _ := w.addOperatorMember(t, w.a.AccountID)
	for _, a := range actions {
		p := a.req(id)
		before := w.tenantItems(t, w.a)
		status, body, _ := w.do(t, w.adminTok, p)
		if status != 403 || problemCode(body) != "operator_protected" {
			t.Errorf("A1's Admin: %s: %d %s, want 403 operator_protected", a.name, status, body)
		}
		if changed := diff(before, w.tenantItems(t, w.a)); len(changed) > 0 {
			t.Errorf("A1's Admin: %s changed %v", a.name, changed)
		}
		if status, body, _ := w.do(t, a.op, p); status != a.want {
			t.Errorf("an operator: %s: %d %s, want %d", a.name, status, body, a.want)
		}
	}
}

// With the consent and billing rules nobody pins a user as the last Admin
// of an account behind their home Admins' back; when an operator did make
// them one, the home Admin's refusal names that account and says who can
// resolve it.
func TestLastAdminElsewhereNamesTheAccount(t *testing.T) {
	t.Parallel()
	w := newSecurityWorld(t)
	u := w.member(t, w.a.AccountID, "")
	acct := w.env.AddAccount(t, w.a, "Run by one")
	w.env.AddMembership(t, w.a, acct, u.ID, u.Email, access.RoleAdmin)
	for _, p := range []probe{{method: "POST", path: "/users/" + u.ID + "/suspend"}, {method: "DELETE", path: "/users/" + u.ID}} {
		status, body, _ := w.do(t, w.adminTok, p)
		if status != 409 || problemCode(body) != "last_admin" || !strings.Contains(string(body), acct) ||
			!strings.Contains(string(body), "tenant operator can resolve") {
			t.Errorf("%s %s: %d %s, want 409 last_admin naming %s and the operator", p.method, p.path, status, body, acct)
		}
	}
	if got := fmt.Sprint(w.user(t, u.ID).Status); got != identity.UserActive {
		t.Fatalf("status %s after refusals", got)
	}
}

// user reads a user of tenant A.
func (w *securityWorld) user(t *testing.T, id string) identity.User {
	t.Helper()
	var u identity.User
	if ok, err := w.env.Store.Get(context.Background(), w.a.User(id), &u); err != nil || !ok {
		t.Fatalf("user %s: %v %v", id, ok, err)
	}
	return u
}
