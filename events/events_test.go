package events_test

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	sesevents "github.com/acme/accountadmin/functions/ses-events/handler"
	"github.com/acme/accountadmin/infra/local/api"
	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apikeys"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/links"
	"github.com/acme/accountadmin/shared/plans"
	"github.com/acme/accountadmin/shared/routes"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/twofactor"
)

// expected is the status each sample must produce; a sample not listed here
// fails the test, so every new sample says what it proves.
// operatorSamples are sent by a tenant operator (support staff, not
// switched into the account); every other sample by the tenant's Admin.
var operatorSamples = map[string]bool{
	"accounts/tenant-changes.json": true,
	"accounts/tenant-keys.json":    true,
	"invite/suppressions.json":     true,
	"invite/unsuppress.json":       true,
	"edit/create-tenant-key.json":  true,
	"edit/revoke-tenant-key.json":  true,
	"delete/close-account.json":    true,
	"edit/create-account.json":     true,
	"edit/delete-role.json":        true,
	"edit/put-licence-type.json":   true,
	"edit/put-plan.json":           true,
	"edit/put-role.json":           true,
	"edit/reopen-account.json":     true,
	"edit/set-plan.json":           true,
	"edit/set-seats.json":          true,
	"edit/update-settings.json":    true,
	"link/add-child.json":          true,
	"link/associate.json":          true,
	"link/unlink.json":             true,
	"usage-reset/reset.json":       true,
}

// memberSamples are sent by a licensed Viewer of the account (their
// ${MEMBER_ID}), acting on themselves.
var memberSamples = map[string]bool{
	"edit/change-password.json": true,
}

// keySamples are sent with an API key of the account holding Admin, made
// for the sample: the product's back end calling the service.
var keySamples = map[string]bool{
	"usage-reset/record-with-key.json": true,
}

// supportSamples are sent by an operator whose session was switched into
// the account with this reason.
var supportSamples = map[string]string{
	"usage-reset/reset-as-support.json": "ticket 4711: the counters look wrong",
}

var expected = map[string]int{
	"auth/sign-in.json":  201,
	"auth/me.json":       200,
	"auth/sign-out.json": 204,
	// Second factors. The samples run as the admin, who must keep signing
	// in with a password alone: nothing here enrols them.
	"auth/two-factor.json":                200,
	"auth/two-factor-start.json":          200, // a pending authenticator key only
	"auth/two-factor-confirm.json":        409, // runs before the start: nothing_to_confirm
	"auth/two-factor-recovery-codes.json": 409, // the admin has no second factor
	"auth/sign-in-verify.json":            401, // an unknown challenge: challenge_invalid
	"auth/sign-in-sms.json":               401, // an unknown challenge: challenge_invalid
	"edit/reset-two-factor.json":          204, // ${MEMBER_ID} enrolled first

	"invite/create.json": 201,
	"invite/list.json":   200,
	"invite/resend.json": 200, // of an invitation prepareInvitation made
	"invite/revoke.json": 204,
	// The suppression list (operators): prepareSuppression lists
	// ${SUPPRESSED_EMAIL} first.
	"invite/suppressions.json": 200,
	"invite/unsuppress.json":   204,
	"accept/page.json":         200,
	"accept/accept.json":       201,
	// An address that has an account accepts in its owner's session
	// (${INVITEE_TOKEN}), with no password.
	"accept/accept-signed-in.json": 201,

	"accounts/list.json":                   200,
	"accounts/export.json":                 200,
	"accounts/get.json":                    200,
	"accounts/members.json":                200,
	"accounts/members-export.json":         200,
	"accounts/changes.json":                200,
	"accounts/user.json":                   200,
	"accounts/user-changes.json":           200,
	"accounts/access-history.json":         200,
	"accounts/account-access-history.json": 200,
	"edit/create-account.json":             201,
	"edit/rename-account.json":             200,
	// An operator reopens ${REOPEN_ACCOUNT_ID}, closed with its data kept,
	// and reads the tenant-level change log.
	"edit/reopen-account.json":     200,
	"accounts/tenant-changes.json": 200,

	// The account's access history as CSV.
	"accounts/account-access-history-export.json": 200,

	// The users list by name, and an Admin's member search (their own
	// accounts only).
	"accounts/members-by-name.json":  200,
	"accounts/search-by-member.json": 200,

	// prepareAdministration makes ${MEMBER_ID} (a member of ${ACCOUNT_ID} without a
	// licence) and whatever each sample acts on; "operator": true samples
	// are a tenant operator's requests.
	"accounts/roles.json":           200,
	"accounts/licence-types.json":   200,
	"accounts/settings.json":        200,
	"accounts/plans.json":           200,
	"edit/edit-profile.json":        200, // the admin's own profile
	"edit/set-roles.json":           200,
	"edit/assign-licence.json":      200, // office seats bought first
	"edit/set-seats.json":           200,
	"edit/set-plan.json":            200, // plan sample-basic defined first
	"edit/set-password.json":        200,
	"edit/add-user.json":            201, // an Admin adds a Viewer with a password, no invitation
	"edit/suspend.json":             200,
	"edit/reactivate.json":          200, // suspended first
	"edit/sign-out-everywhere.json": 204,
	"edit/change-password.json":     200, // the member changes their own
	"edit/put-role.json":            200,
	"edit/put-licence-type.json":    200,
	"edit/delete-role.json":         204, // ${ROLE_NAME} defined first
	"edit/update-settings.json":     200,
	"edit/put-plan.json":            200,
	"delete/delete-users.json":      200,
	"delete/delete-user.json":       204,
	"delete/remove-membership.json": 204,
	"delete/close-account.json":     200, // ${CLOSE_ACCOUNT_ID}, wiped

	"usage-reset/record.json": 200,
	"usage-reset/read.json":   200,
	"usage-reset/reset.json":  200,
	// A support person acting in the account (an operator whose session
	// was switched into it with a reason: supportSamples).
	"usage-reset/reset-as-support.json": 200,

	"link/family.json":    200,
	"link/add-child.json": 201,
	"link/unlink.json":    204, // prepareLinksContentUsage links ${CHILD_ID} first

	"link/associate.json":        201, // ${ADVISOR_ID} into ${CLIENT_ID}, which the admin administers
	"link/associate-roles.json":  200, // ${ADVISOR_ID} is already a Viewer of ${CLIENT_ID}
	"link/associate-remove.json": 204,
	"link/switch-account.json":   200, // the admin is a member of ${CLIENT_ID}

	"reassign/content-register.json": 201,
	"reassign/content-list.json":     200,
	"reassign/content-get.json":      200, // prepareLinksContentUsage registers ${CONTENT_ID}
	"reassign/content-delete.json":   204,
	"reassign/reassign.json":         202, // from a member with content (${SOURCE_USER_ID}) to the admin
	"reassign/progress.json":         200, // of a job prepareLinksContentUsage ran (${JOB_ID})

	// API keys: an operator's for the tenant, an Admin's for the account
	// (prepareAPIKeys makes ${KEY_ID} to revoke); a key records usage.
	"edit/create-tenant-key.json":      201,
	"edit/create-account-key.json":     201,
	"edit/revoke-tenant-key.json":      204,
	"edit/revoke-account-key.json":     204,
	"accounts/tenant-keys.json":        200,
	"accounts/account-keys.json":       200,
	"usage-reset/record-with-key.json": 200,
}

func samples(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && path == "schemas" {
			return filepath.SkipDir // the domain events' JSON Schemas, checked by functions/publish-events
		}
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			out = append(out, filepath.ToSlash(path))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Every route in the route table has at least one sample event.
func TestEveryRouteHasASample(t *testing.T) {
	have := map[string]bool{}
	for _, path := range samples(t) {
		var ev struct {
			RouteKey       string `json:"routeKey"`
			RequestContext struct {
				Authorizer json.RawMessage `json:"authorizer"`
			} `json:"requestContext"`
		}
		raw, _ := os.ReadFile(path)
		_ = json.Unmarshal(raw, &ev)
		have[ev.RouteKey] = true
		// The HTTP API has no authorizer: API Gateway sends none.
		if ev.RequestContext.Authorizer != nil {
			t.Errorf("%s carries requestContext.authorizer, which the HTTP API never sends", path)
		}
	}
	for _, r := range routes.Table {
		if !have[r.Key()] {
			t.Errorf("no sample event for %s", r.Key())
		}
	}
}

func TestSamplesRunThroughTheirHandlers(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	svc := &auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	ctx := context.Background()
	srv := api.New(env.Deps)

	for _, path := range samples(t) {
		t.Run(path, func(t *testing.T) {
			// A fresh session per sample, so sign-out does not end the next one's.
			signed, err := svc.SignIn(ctx, auth.SignIn{Tenant: ten.Tenant, Email: ten.AdminEmail, Password: ten.AdminPassword})
			if err != nil {
				t.Fatal(err)
			}
			token, self := signed.Token, []string{}
			if reason, ok := supportSamples[path]; ok || operatorSamples[path] {
				token = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: env.AddOperator(t, ten).ID, AccountID: ten.AccountID,
					SupportReason: reason})
			}
			if keySamples[path] {
				token = sampleKey(t, env, ten, ten.AccountID)
			}
			if memberSamples[path] {
				member := env.AddUser(t, ten, ten.AccountID, "self-"+strings.ReplaceAll(path, "/", "-")+"@"+ten.ID()+".example", "")
				token = env.Session(t, access.Caller{Tenant: ten.Tenant, UserID: member.ID, AccountID: ten.AccountID})
				self = []string{"${MEMBER_ID}", member.ID}
			}
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := strings.NewReplacer(append([]string{
				"${TENANT}", ten.ID(), "${EMAIL}", ten.AdminEmail, "${PASSWORD}", ten.AdminPassword,
				"${TOKEN}", token, "${USER_ID}", ten.AdminID,
				"${ACCOUNT_ID}", ten.AccountID,
			}, self...)...).Replace(string(raw))
			text = prepareLinksContentUsage(t, env, ten, path).Replace(text)
			text = prepareAdministration(t, env, ten, path).Replace(text)
			text = prepareInvitation(t, env, ten, text).Replace(text)
			text = prepareAPIKeys(t, env, ten, path).Replace(text)
			text = prepareSuppression(t, env, ten, text).Replace(text)
			function := strings.Split(path, "/")[0]

			// An SNS notification of SES runs through ses-events, about a
			// real invitation email, and must be recorded on it.
			if function == "ses-events" {
				runSESNotification(t, env, ten, path, text)
				return
			}

			// A scheduled event runs through the job of its function and
			// detail-type, and must succeed.
			var scheduled struct {
				DetailType string `json:"detail-type"`
			}
			if _ = json.Unmarshal([]byte(text), &scheduled); scheduled.DetailType != "" {
				var ev events.EventBridgeEvent
				roundTrip(t, text, &ev)
				for _, j := range routes.Jobs {
					if j.Function == function && j.DetailType == scheduled.DetailType {
						if err := srv.Jobs[j.Name](ctx, ev); err != nil {
							t.Fatalf("job %s: %v", j.Name, err)
						}
						return
					}
				}
				t.Fatalf("no job of function %s has detail-type %q", function, scheduled.DetailType)
			}
			var req events.APIGatewayV2HTTPRequest
			roundTrip(t, text, &req)
			h, ok := srv.Handlers[function]
			if !ok {
				t.Fatalf("no handler for function %s", function)
			}
			want, ok := expected[path]
			if !ok {
				t.Fatalf("sample %s has no expected status in events_test.go", path)
			}
			resp, err := h(ctx, req)
			if err != nil || resp.StatusCode != want {
				t.Fatalf("%s: status %d (want %d), err %v, body %s", req.RouteKey, resp.StatusCode, want, err, resp.Body)
			}
		})
	}
}

// roundTrip decodes a sample into v and checks that encoding it again loses
// nothing (every field of the sample survives; the SDK types may add empty
// ones): the sample is a real-shaped event, not a loose approximation.
func roundTrip(t *testing.T, text string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(text), v); err != nil {
		t.Fatalf("decode: %v", err)
	}
	again, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	_ = json.Unmarshal([]byte(text), &a)
	_ = json.Unmarshal(again, &b)
	if !contains(b, a) {
		t.Fatalf("re-encoding changed the event:\n%s\nvs\n%s", text, again)
	}
}

// contains reports whether every field of want is in got with the same value.
func contains(got, want any) bool {
	wm, ok := want.(map[string]any)
	if !ok {
		return reflect.DeepEqual(got, want)
	}
	gm, ok := got.(map[string]any)
	if !ok {
		return false
	}
	for k, wv := range wm {
		if !contains(gm[k], wv) {
			return false
		}
	}
	return true
}

// prepareLinksContentUsage gives the linked-account, content and usage samples the
// state they need beyond the tenant, and the placeholders that name it.
func prepareLinksContentUsage(t *testing.T, env *testkit.Env, ten testkit.Tenant, path string) *strings.Replacer {
	t.Helper()
	ctx := context.Background()
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	op := admin // links and associations are tenant administration
	op.Operator = true
	switch path {
	case "link/unlink.json":
		child := env.AddAccount(t, ten, "Sample child")
		env.AddMembership(t, ten, child, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
		if _, err := links.New(env.Service()).LinkExisting(ctx, op, ten.AccountID, child); err != nil {
			t.Fatal(err)
		}
		return strings.NewReplacer("${CHILD_ID}", child)
	case "link/associate.json", "link/associate-roles.json", "link/associate-remove.json", "link/switch-account.json":
		client := env.AddAccount(t, ten, "Sample client")
		env.AddMembership(t, ten, client, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
		advisor := env.AddUser(t, ten, ten.AccountID, "advisor-"+strings.NewReplacer("/", "-", ".", "-").Replace(path)+"@"+ten.ID()+".example", "")
		if path == "link/associate-roles.json" || path == "link/associate-remove.json" {
			cmd, err := associates.AssociateRequest{Accounts: []associates.AccountRoles{{AccountID: client, Roles: []string{access.RoleViewer}}}}.Command(op, advisor.ID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := associates.New(env.Service()).Associate(ctx, cmd); err != nil {
				t.Fatal(err)
			}
		}
		return strings.NewReplacer("${CLIENT_ID}", client, "${ADVISOR_ID}", advisor.ID)
	case "reassign/content-get.json", "reassign/content-delete.json":
		cmd, err := content.RegisterRequest{Type: "report", Name: "Sample report", OwnerID: ten.AdminID}.Command(admin, ten.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		item, err := content.New(env.Service()).Register(ctx, cmd)
		if err != nil {
			t.Fatal(err)
		}
		return strings.NewReplacer("${CONTENT_ID}", item.ID)
	case "reassign/reassign.json", "reassign/progress.json":
		svc := content.New(env.Service())
		source := env.AddUser(t, ten, ten.AccountID, "leaver-"+strings.NewReplacer("/", "-", ".", "-").Replace(path)+"@"+ten.ID()+".example", "")
		for _, name := range []string{"Nightly sync", "Gearbox assembly"} {
			cmd, err := content.RegisterRequest{Type: "automation", Name: name, OwnerID: source.ID}.Command(admin, ten.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Register(ctx, cmd); err != nil {
				t.Fatal(err)
			}
		}
		if path == "reassign/reassign.json" {
			return strings.NewReplacer("${SOURCE_USER_ID}", source.ID)
		}
		p, err := svc.Start(ctx, ctx, content.StartCommand{Caller: admin, AccountID: ten.AccountID, SourceID: source.ID, TargetID: ten.AdminID})
		if err != nil {
			t.Fatal(err)
		}
		return strings.NewReplacer("${JOB_ID}", p.ID)
	}
	return strings.NewReplacer()
}

// prepareInvitation gives samples that name ${INVITATION_ID} or
// ${INVITATION_TOKEN} a fresh pending invitation (its link handed over, no
// email sent). A sample that names ${INVITEE_TOKEN} gets one to a user of
// another account, and that user's session.
func prepareInvitation(t *testing.T, env *testkit.Env, ten testkit.Tenant, text string) *strings.Replacer {
	t.Helper()
	if !strings.Contains(text, "${INVITATION_") {
		return strings.NewReplacer()
	}
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	addr, session := strings.ToLower("sample-"+env.IDs.NewID()+"@invited.example"), ""
	if strings.Contains(text, "${INVITEE_TOKEN}") {
		u := env.AddUser(t, ten, env.AddAccount(t, ten, "Invitee's home"), addr, "")
		signed, err := (&auth.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}).
			SignIn(context.Background(), auth.SignIn{Tenant: ten.Tenant, Email: u.Email, Password: u.Password})
		if err != nil {
			t.Fatal(err)
		}
		session = signed.Token
	}
	cmd, err := invitations.InviteRequest{Emails: []string{addr}}.Command(admin, ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	cmd.SendEmail = false
	res, err := invitations.New(env.Service()).Invite(context.Background(), cmd)
	if err != nil || len(res.Results) != 1 || res.Results[0].AcceptURL == "" {
		t.Fatalf("prepare invitation: %v %+v", err, res)
	}
	link, err := url.Parse(res.Results[0].AcceptURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("${INVITATION_ID}", res.Results[0].InvitationID, "${INVITATION_TOKEN}", link.Query().Get("token"),
		"${INVITEE_TOKEN}", session)
}

// prepareAdministration gives the administration samples (edit/, delete/) what they
// act on: a fresh member of the admin's account without a licence
// (${MEMBER_ID}), suspended for reactivate; office seats for the licence
// assignment; the plan an account is put on; a custom role to delete
// (${ROLE_NAME}); an account to close and wipe (${CLOSE_ACCOUNT_ID}).
func prepareAdministration(t *testing.T, env *testkit.Env, ten testkit.Tenant, path string) *strings.Replacer {
	t.Helper()
	if !strings.HasPrefix(path, "edit/") && !strings.HasPrefix(path, "delete/") {
		return strings.NewReplacer()
	}
	ctx := context.Background()
	adm := administration.New(env.Service())
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	op := admin
	op.Operator = true
	slug := strings.NewReplacer("/", "-", ".", "-").Replace(path)
	member := env.AddUser(t, ten, ten.AccountID, "member-"+slug+"@"+ten.ID()+".example", "-")
	var err error
	switch path {
	case "edit/reset-two-factor.json":
		k := ten.TwoFactor(member.ID)
		err = env.Store.Do(ctx, "enrol the member", store.Put(twofactor.Factors{PK: k.PK, SK: k.SK, Type: "TWOFACTOR", UserID: member.ID,
			TOTP: "v1.sealed.elsewhere", Recovery: []string{"hash"}}))
	case "edit/assign-licence.json":
		_, err = adm.SetSeats(ctx, administration.SetSeats{Caller: op, AccountID: ten.AccountID, Licence: "office", Purchased: 10})
	case "edit/set-plan.json":
		var cmd administration.PutPlan
		if cmd, err = (administration.PlanRequest{Name: "Basic", Limits: map[string]plans.Allowance{"tasks": {Limit: 100}}}).Command(op, "sample-basic", 0); err == nil {
			_, err = adm.PutPlan(ctx, cmd)
		}
	case "edit/reactivate.json":
		_, err = adm.Suspend(ctx, admin, member.ID)
	case "edit/delete-role.json":
		_, err = adm.PutRole(ctx, administration.PutRole{Caller: op, Name: "Temp-Role", Permissions: []access.Action{access.ReadUsers}})
	case "edit/reopen-account.json":
		reopening := env.AddAccount(t, ten, "Sample reopening")
		env.AddMembership(t, ten, reopening, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
		op := admin
		op.Operator = true
		if _, err := adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: reopening, ConfirmName: "Sample reopening"}); err != nil {
			t.Fatalf("prepare %s: %v", path, err)
		}
		return strings.NewReplacer("${REOPEN_ACCOUNT_ID}", reopening)
	case "delete/close-account.json":
		closing := env.AddAccount(t, ten, "Sample closing")
		env.AddMembership(t, ten, closing, ten.AdminID, ten.AdminEmail, access.RoleAdmin)
		return strings.NewReplacer("${CLOSE_ACCOUNT_ID}", closing)
	}
	if err != nil {
		t.Fatalf("prepare %s: %v", path, err)
	}
	return strings.NewReplacer("${MEMBER_ID}", member.ID, "${ROLE_NAME}", "Temp-Role")
}

// sampleKey creates an API key of the tenant (accountID "") or of
// accountID (role Admin) and answers its secret.
func sampleKey(t *testing.T, env *testkit.Env, ten testkit.Tenant, accountID string) (secret string) {
	t.Helper()
	keys := &apikeys.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	caller := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	role := access.RoleAdmin
	if accountID == "" {
		caller.Operator, role = true, ""
	}
	cmd, err := apikeys.CreateRequest{Name: "sample-" + env.IDs.NewID(), Role: role}.Command(caller, accountID, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	k, err := keys.Create(context.Background(), cmd)
	if err != nil {
		t.Fatal(err)
	}
	return k.Secret
}

// prepareAPIKeys makes the key the revoke samples revoke (${KEY_ID}).
func prepareAPIKeys(t *testing.T, env *testkit.Env, ten testkit.Tenant, path string) *strings.Replacer {
	t.Helper()
	accountID := ""
	switch path {
	case "edit/revoke-account-key.json":
		accountID = ten.AccountID
	case "edit/revoke-tenant-key.json":
	default:
		return strings.NewReplacer()
	}
	secret := sampleKey(t, env, ten, accountID)
	c, err := (&apikeys.Service{Store: env.Store, Clock: env.Clock}).Authorize(context.Background(), secret)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("${KEY_ID}", c.KeyID)
}

// sesNotifications: the delivery state each SES sample leaves on the
// invitation whose email it is about.
var sesNotifications = map[string]string{
	"ses-events/bounce.json":         invitations.DeliveryBounced,
	"ses-events/complaint.json":      invitations.DeliveryComplained,
	"ses-events/delivery-delay.json": invitations.DeliveryDelayed,
	"ses-events/reject.json":         invitations.DeliveryRejected,
}

// runSESNotification invites an address with an email (through SES
// local), fills the sample with the email's message id and tags, and
// feeds it to the ses-events handler.
func runSESNotification(t *testing.T, env *testkit.Env, ten testkit.Tenant, path, text string) {
	t.Helper()
	want, ok := sesNotifications[path]
	if !ok {
		t.Fatalf("sample %s has no expected delivery in events_test.go", path)
	}
	ctx := context.Background()
	admin := access.Caller{Tenant: ten.Tenant, UserID: ten.AdminID, SessionID: "prepare", AccountID: ten.AccountID, Roles: []string{access.RoleAdmin}}
	addr := strings.ToLower("ses-" + env.IDs.NewID() + "@invited.example")
	cmd, err := invitations.InviteRequest{Emails: []string{addr}}.Command(admin, ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	svc := invitations.New(env.Service())
	res, err := svc.Invite(ctx, cmd)
	if err != nil || len(res.Results) != 1 || res.Results[0].Delivery != invitations.DeliverySent {
		t.Fatalf("prepare invitation: %v %+v", err, res)
	}
	id := res.Results[0].InvitationID
	var inv invitations.Invitation
	if _, err := env.Store.Get(ctx, ten.Invitation(id), &inv); err != nil || inv.MessageID == "" {
		t.Fatalf("the invitation recorded no message id: %v", err)
	}
	text = strings.NewReplacer("${SES_INVITATION_ID}", id, "${SES_MESSAGE_ID}", inv.MessageID, "${SES_RECIPIENT}", addr).Replace(text)
	var ev events.SNSEvent
	roundTrip(t, text, &ev)
	for _, r := range ev.Records {
		if _, err := sesevents.Parse(r.SNS.Message); err != nil {
			t.Fatalf("the sample's message does not parse: %v", err)
		}
	}
	if err := sesevents.New(env.Service())(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Get(ctx, ten.Invitation(id), &inv); err != nil || inv.Delivery != want {
		t.Fatalf("delivery %q, want %q (%v)", inv.Delivery, want, err)
	}
}

// prepareSuppression puts an address on the tenant's suppression list for
// the samples that name ${SUPPRESSED_EMAIL}.
func prepareSuppression(t *testing.T, env *testkit.Env, ten testkit.Tenant, text string) *strings.Replacer {
	t.Helper()
	if !strings.Contains(text, "${SUPPRESSED_EMAIL}") {
		return strings.NewReplacer()
	}
	addr := strings.ToLower("bounced-" + env.IDs.NewID() + "@invited.example")
	svc := &suppression.Service{Store: env.Store, Clock: env.Clock, IDs: env.IDs}
	if _, err := svc.Add(context.Background(), ten.Tenant, suppression.Suppress{Email: addr, Reason: suppression.ReasonBounced,
		Detail: "NoEmail", At: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer("${SUPPRESSED_EMAIL}", addr)
}
