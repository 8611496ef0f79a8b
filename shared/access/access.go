// Package access answers one question for every handler: may this caller do
// this action in this account? It also carries the caller that httpapi.Server.Serve
// resolved from the request's session, the only place a handler learns who
// is calling.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Built-in roles.
const (
	RoleAdmin  = accounts.RoleAdmin
	RoleViewer = "Viewer"
)

// Action is something a caller may or may not do in an account.
type Action string

// Account actions: the work inside one customer account. Roles of the
// account grant them; the built-in Admin holds every one, Viewer the reads.
const (
	ReadAccount     Action = "account.read"
	EditAccount     Action = "account.edit"
	ReadUsers       Action = "users.read"
	InviteUsers     Action = "users.invite"
	EditUsers       Action = "users.edit"
	DeleteUsers     Action = "users.delete"
	ManageRoles     Action = "roles.manage"
	ManageLicences  Action = "licences.manage" // assign the seats the account has to its members
	ReadContent     Action = "content.read"
	ManageContent   Action = "content.manage"
	ReassignContent Action = "content.reassign"
	RecordUsage     Action = "usage.record"
	ReadAudit       Action = "audit.read"
)

// Billing actions: tenant administration that a tenant's operators may give
// to a custom role explicitly; no built-in role holds them.
const (
	CreateAccounts Action = "accounts.create"   // new accounts and new linked children
	PurchaseSeats  Action = "licences.purchase" // an account's purchased seat counts
	ResetUsage     Action = "usage.reset"
)

// Operator actions: tenant administration that only tenant operators do,
// from any account and without a switch; no role can hold them.
const (
	CloseAccount   Action = "account.close"
	ReopenAccount  Action = "account.reopen" // a closed account whose data was kept becomes active again
	ManageLinks    Action = "links.manage"
	ManagePlans    Action = "plans.manage"    // an account's plan and its overrides
	AssociateUsers Action = "users.associate" // a membership without the user's consent
	ManageTenant   Action = "tenant.manage"   // settings, the roles catalogue, plans
)

// AccountActions are the actions of work inside an account.
var AccountActions = []Action{ReadAccount, EditAccount, ReadUsers, InviteUsers, EditUsers, DeleteUsers,
	ManageRoles, ManageLicences, ReadContent, ManageContent, ReassignContent, RecordUsage, ReadAudit}

// BillingActions are the tenant administration a custom role may hold.
var BillingActions = []Action{CreateAccounts, PurchaseSeats, ResetUsage}

// OperatorActions are the tenant administration only operators do.
var OperatorActions = []Action{CloseAccount, ReopenAccount, ManageLinks, ManagePlans, AssociateUsers, ManageTenant}

// TenantActions are the tenant administration a tenant's API key may be
// scoped to (its scopes): the billing and the operator actions. Reading
// accounts and their audit trails, which operators do without a switch,
// stays open to every tenant key.
var TenantActions = append(slices.Clone(BillingActions), OperatorActions...)

// AllActions lists what a role may hold (custom roles choose among them):
// the account actions and the billing ones.
var AllActions = append(slices.Clone(AccountActions), BillingActions...)

var readActions = []Action{ReadAccount, ReadUsers, ReadContent, ReadAudit}

// builtIn are the permissions of the built-in roles.
var builtIn = map[string][]Action{
	RoleAdmin:  AccountActions,
	RoleViewer: readActions,
}

// IsBuiltIn reports whether role is Admin or Viewer.
func IsBuiltIn(role string) bool { _, ok := builtIn[role]; return ok }

// IsRead reports whether a is a read (open to Viewers).
func IsRead(a Action) bool { return slices.Contains(readActions, a) }

// TenantWork reports whether a is tenant administration: what operators do
// in any account of their tenant without switching into it (the billing
// and operator actions, and reading an account's summary and its audit
// trail, as the vendor's own screen does). Everything else done inside a
// customer account needs a switch into it with a reason.
func TenantWork(a Action) bool {
	return slices.Contains(BillingActions, a) || slices.Contains(OperatorActions, a) || a == ReadAccount || a == ReadAudit
}

// Allowed is the pure decision: do these roles grant action? custom maps a
// tenant's custom role names to their actions. No role grants an operator
// action.
func Allowed(roles []string, custom map[string][]Action, action Action) bool {
	if slices.Contains(OperatorActions, action) {
		return false
	}
	for _, r := range roles {
		if slices.Contains(builtIn[r], action) || slices.Contains(custom[r], action) {
			return true
		}
	}
	return false
}

// Permissions is every action roles grant (custom as in Allowed).
func Permissions(roles []string, custom map[string][]Action) []Action {
	var out []Action
	for _, a := range AllActions {
		if Allowed(roles, custom, a) {
			out = append(out, a)
		}
	}
	return out
}

// Caller is who is calling, as httpapi.Server.Serve resolved it for this request
// from its session (auth.Service.Authorize).
type Caller struct {
	Tenant    table.Tenant
	UserID    string
	SessionID string
	AccountID string // the session's active account
	Roles     []string
	Operator  bool // tenant support staff: may act in any account of the tenant
	// SupportReason is why an operator entered the active account as support
	// (the reason given when switching into it); empty for everyone else and
	// once the operator switches back or signs out.
	SupportReason string
	// Name and Email are the caller as their user item reads at this
	// request (auth.Service.Authorize reads it anyway): change-log entries
	// record them as they were at the time of the write (changelog.ActorOf).
	Name  string
	Email string
	// KeyID and KeyName are set when the caller is an API key
	// (apikeys.Service.Authorize): then UserID and SessionID are the key's
	// id (no user of the tenant has it), AccountID and Roles are the
	// key's account and role, and Operator marks a key of the tenant.
	KeyID   string
	KeyName string
	// Scopes are the tenant administration (TenantActions) a key of the
	// tenant may do; ScopeRefusal refuses the rest.
	Scopes []Action
	// Member says the caller is a member of the active account, and
	// MemberVersion is that membership's version, as the session resolution
	// read them (strongly consistent) for this request: a grant in the
	// active account holds the membership at that version instead of
	// reading it again.
	Member        bool
	MemberVersion int64
}

// IsKey reports whether the caller is an API key rather than a person.
func (c Caller) IsKey() bool { return c.KeyID != "" }

// ErrKeyScope refuses a tenant key's tenant administration outside its
// scopes.
var ErrKeyScope = apperr.New(apperr.KindForbidden, "api_key_scope", "this API key's scopes do not include this action")

// ScopeRefusal is the pure rule of a tenant key's scopes: a key of the
// tenant does only the tenant administration (TenantActions) its scopes
// name. Every decision of authority asks it first (RequireEach, which
// Require goes through for every operator, and RequireOperator; grants are
// account work, never tenant administration), so no route can miss it.
func (c Caller) ScopeRefusal(action Action) error {
	if !c.IsKey() || !c.Operator || !slices.Contains(TenantActions, action) || slices.Contains(c.Scopes, action) {
		return nil
	}
	return ErrKeyScope.Withf("this API key's scopes (%s) do not include %s", joinActions(c.Scopes), action)
}

// RequireOperator is the decision of tenant administration done outside
// any one account (the tenant's settings, roles, plans, licence types,
// accounts created by operators): tenant operators only (403
// operators_only), and a tenant key only within its scopes.
func RequireOperator(c Caller, action Action) error {
	if !c.Operator {
		return ErrOperatorsOnly.Withf("only tenant operators may do %s", action)
	}
	return c.ScopeRefusal(action)
}

func joinActions(as []Action) string {
	if len(as) == 0 {
		return "none"
	}
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = string(a)
	}
	return strings.Join(out, ", ")
}

// EntersAsSupport reports whether a caller entering accountID does so as
// support: a tenant operator entering an account that is neither their home
// account nor one they hold a licensed membership in. Only a switch with a
// reason enters as support; the session keeps the reason, and every change
// made in it is logged with it.
func EntersAsSupport(operator bool, homeAccountID, accountID string, licensedMember bool) bool {
	return operator && accountID != homeAccountID && !licensedMember
}

// callerKey is the context key of the resolved caller. It is private to
// this package: only WithCaller sets it, so nothing in a request (headers,
// body, a forged requestContext) can make a caller.
type callerKey struct{}

// WithCaller is ctx carrying caller: httpapi.Server.Serve calls it once it has
// resolved the request's session, before the route's handler runs.
func WithCaller(ctx context.Context, caller Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

// CallerFrom is the caller that httpapi.Server.Serve resolved from this request's
// bearer token. A context without one (a public route, or a handler called
// outside Serve) is 401: no handler can act for anyone it was not given.
func CallerFrom(ctx context.Context) (Caller, error) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	if !ok || c.UserID == "" || c.SessionID == "" || c.Tenant.ID() == "" {
		return Caller{}, apperr.ErrUnauthenticated
	}
	return c, nil
}

// Errors of authority.
var (
	// ErrSwitchRequired refuses an operator's work inside a customer
	// account made without switching into it.
	ErrSwitchRequired = apperr.New(apperr.KindForbidden, "switch_required",
		"support staff act inside a customer account only while switched into it: POST /me/switch-account with the account and a reason")
	// ErrGrantExceeds refuses a grant of more than the grantor holds.
	ErrGrantExceeds = apperr.New(apperr.KindForbidden, "grant_exceeds_rights",
		"you can grant only roles whose permissions you hold yourself in this account")
	// ErrOwnRoles refuses a change of one's own roles or licence.
	ErrOwnRoles = apperr.New(apperr.KindForbidden, "own_roles", "nobody changes their own roles or licence; ask another Admin")
	// ErrGrantorChanged is a grant whose grantor's rights changed before it
	// committed.
	ErrGrantorChanged = apperr.New(apperr.KindConflict, "grantor_changed",
		"your own rights in this account changed meanwhile; reload and try again")
	// ErrOperatorProtected refuses a non-operator's change to an operator.
	ErrOperatorProtected = apperr.New(apperr.KindForbidden, "operator_protected",
		"support staff are administered only by tenant operators")
	// ErrOperatorsOnly refuses tenant administration to a non-operator.
	ErrOperatorsOnly = apperr.New(apperr.KindForbidden, "operators_only", "only tenant operators may do this")
)

// Authority is what a caller holds in one account: the actions, and
// whether they may grant Admin.
type Authority struct {
	AccountID string
	Actions   []Action
	Admin     bool // holds Admin there, or is support switched into it
	Support   bool // a tenant operator switched into this account with a reason
	Operator  bool
	Member    bool // holds a membership there
	Roles     []string
}

// Can reports whether the authority includes action.
func (a Authority) Can(action Action) bool { return slices.Contains(a.Actions, action) }

// AuthorityOf is the pure decision of what a user holds in accountID:
// member says whether they hold a membership there, with roles (custom
// roles resolved in custom); operator whether they are tenant support
// staff; support whether their session is switched into accountID with a
// reason. Every member reads; roles add their actions; operators hold the
// tenant administration everywhere, and the account actions (as an Admin
// would) only where they are switched in.
func AuthorityOf(accountID string, member bool, roles []string, custom map[string][]Action, operator, support bool) Authority {
	a := Authority{AccountID: accountID, Operator: operator, Member: member}
	add := func(acts ...Action) {
		for _, x := range acts {
			if !slices.Contains(a.Actions, x) {
				a.Actions = append(a.Actions, x)
			}
		}
	}
	if member {
		a.Roles = roles
		add(readActions...)
		add(Permissions(roles, custom)...)
		a.Admin = slices.Contains(roles, RoleAdmin)
	}
	if operator {
		add(BillingActions...)
		add(OperatorActions...)
		add(ReadAccount, ReadAudit)
		if support {
			a.Support, a.Admin = true, true
			add(AccountActions...)
		}
	}
	return a
}

// Refusal says why authority a does not allow action (nil when it does).
// activeAccount is the account the caller's session is in.
func (a Authority) Refusal(action Action, activeAccount string) error {
	switch {
	case a.Can(action):
		return nil
	case slices.Contains(OperatorActions, action) && !a.Operator:
		return ErrOperatorsOnly.Withf("only tenant operators may do %s", action)
	case a.Operator && !a.Support && !a.Member:
		if activeAccount != "" && activeAccount != a.AccountID {
			return ErrSwitchRequired.Withf("your session is in account %s: switch into account %s with a reason (POST /me/switch-account) to do %s there",
				activeAccount, a.AccountID, action)
		}
		return ErrSwitchRequired
	case !a.Member && !a.Operator:
		return apperr.ErrForbidden.Withf("you are not a member of account %s", a.AccountID)
	}
	return apperr.ErrForbidden.Withf("your role does not allow %s", action)
}

// CheckGrant is the pure grant ceiling: a may grant roles (custom roles
// resolved in custom; a role missing from custom is not checked here: the
// caller reports it as unknown) only when each role's permissions are among
// a's, and Admin only when a holds Admin.
func (a Authority) CheckGrant(roles []string, custom map[string][]Action) error {
	for _, r := range roles {
		if r == RoleAdmin {
			if !a.Admin {
				return ErrGrantExceeds.Withf("you cannot grant Admin in account %s: only an Admin of the account grants Admin", a.AccountID).
					With("role", r)
			}
			continue
		}
		perms, ok := builtIn[r]
		if !ok {
			if perms, ok = custom[r]; !ok {
				continue
			}
		}
		var missing []string
		for _, p := range perms {
			if !a.Can(p) {
				missing = append(missing, string(p))
			}
		}
		if len(missing) > 0 {
			return ErrGrantExceeds.Withf("you cannot grant %s in account %s: it allows %s, which you do not hold there",
				r, a.AccountID, strings.Join(missing, ", ")).With("role", r)
		}
	}
	return nil
}

// Checker makes permission decisions that need the store: the caller's roles
// in an account other than the active one, and custom role definitions.
type Checker struct{ Store *store.Store }

// supportIn reports whether caller's session is switched into accountID as
// support.
func supportIn(caller Caller, accountID string) bool {
	return caller.Operator && caller.SupportReason != "" && caller.AccountID == accountID
}

// Require returns nil when caller may do action in accountID. An account that
// does not exist in the caller's tenant (including every other tenant's
// account) is 404; a member without the permission, or a non-member, is 403.
// Operators do tenant administration in any account of their tenant, and
// the work inside a customer account only while switched into it (403
// switch_required otherwise).
func (c Checker) Require(ctx context.Context, caller Caller, action Action, accountID string) error {
	if accountID == "" {
		return apperr.ErrNotFound
	}
	if accountID == caller.AccountID && !caller.Operator {
		// Resolving the session read the membership and the account for
		// this request.
		custom, err := c.customRoles(ctx, caller.Tenant, caller.Roles)
		if err != nil {
			return err
		}
		return AuthorityOf(accountID, true, caller.Roles, custom.actions(), false, false).Refusal(action, caller.AccountID)
	}
	_, err := c.RequireEach(ctx, caller, action, accountID)
	return err
}

// RequireEach is Require for each of accountIDs (the first refusal, in
// their order), reading every account and the caller's membership of it in
// one BatchGetItem. It answers the account items it read, by account id,
// so that a caller acting on several accounts (a link) need not read them
// again.
func (c Checker) RequireEach(ctx context.Context, caller Caller, action Action, accountIDs ...string) (map[string]map[string]types.AttributeValue, error) {
	if err := caller.ScopeRefusal(action); err != nil {
		return nil, err
	}
	accts, auths, err := c.authorities(ctx, caller.Tenant, caller.UserID, caller.Operator, func(id string) bool { return supportIn(caller, id) },
		action, accountIDs, nil)
	if err != nil {
		return nil, fmt.Errorf("check %s in accounts %v: %w", action, accountIDs, err)
	}
	for _, id := range accountIDs {
		if err := auths[id].Refusal(action, caller.AccountID); err != nil {
			return nil, err
		}
	}
	return accts, nil
}

// read is what one authority was computed from: the membership's version
// and the custom roles' versions, for the checks at commit.
type read struct {
	member  bool
	version int64
	custom  customRoles
}

// authorities reads accountIDs, userID's memberships of them and the
// custom roles involved (theirs and extra), and computes userID's
// authority in each. An unknown account is 404; a closed one is as
// closedRefusal says (operators read it, even unswitched, and reopen it).
func (c Checker) authorities(ctx context.Context, t table.Tenant, userID string, operator bool, support func(string) bool,
	action Action, accountIDs []string, extra []string) (map[string]map[string]types.AttributeValue, map[string]Authority, error) {
	auths, accts, _, err := c.authoritiesRead(ctx, t, userID, operator, support, action, accountIDs, extra)
	return accts, auths, err
}

func (c Checker) authoritiesRead(ctx context.Context, t table.Tenant, userID string, operator bool, support func(string) bool,
	action Action, accountIDs []string, extra []string) (map[string]Authority, map[string]map[string]types.AttributeValue, map[string]read, error) {
	keys := make([]table.Key, 0, 2*len(accountIDs)+len(extra))
	for _, id := range accountIDs {
		if id == "" {
			return nil, nil, nil, apperr.ErrNotFound
		}
		keys = append(keys, t.Account(id), t.Membership(id, userID))
	}
	for _, r := range extra {
		if !IsBuiltIn(r) {
			keys = append(keys, t.Role(r))
		}
	}
	items, err := c.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, nil, nil, err
	}
	accts := make(map[string]map[string]types.AttributeValue, len(accountIDs))
	closed := map[string]bool{}
	members := map[string]accounts.Membership{}
	var need []string
	for _, id := range accountIDs {
		acc, ok := items[t.Account(id)]
		if !ok {
			return nil, nil, nil, apperr.ErrNotFound.Withf("no account %s", id)
		}
		accts[id] = acc
		var state accounts.Account
		_ = attributevalue.UnmarshalMap(acc, &state)
		if state.Status == accounts.StatusClosed {
			if err := closedRefusal(operator, action); err != nil {
				return nil, nil, nil, err
			}
			closed[id] = true
		}
		if mi, ok := items[t.Membership(id, userID)]; ok {
			var m accounts.Membership
			if err := attributevalue.UnmarshalMap(mi, &m); err != nil {
				return nil, nil, nil, apperr.Internal("decode membership", err)
			}
			members[id] = m
			need = append(need, m.Roles...)
		}
	}
	custom := customRoles{}
	for _, it := range items {
		var r CustomRole
		if k := store.KeyOf(it); strings.HasPrefix(k.SK, "ROLE#") {
			if err := attributevalue.UnmarshalMap(it, &r); err == nil {
				custom[r.Name] = r
			}
		}
	}
	var missing []string
	for _, r := range need {
		if _, ok := custom[r]; !ok && !IsBuiltIn(r) && !slices.Contains(missing, r) {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		more, err := c.customRoles(ctx, t, missing)
		if err != nil {
			return nil, nil, nil, err
		}
		for k, v := range more {
			custom[k] = v
		}
	}
	auths := make(map[string]Authority, len(accountIDs))
	reads := make(map[string]read, len(accountIDs))
	for _, id := range accountIDs {
		m, member := members[id]
		a := AuthorityOf(id, member, m.Roles, custom.actions(), operator, support(id))
		if closed[id] && operator {
			// Nobody else can use a closed account: reading what it kept
			// is tenant administration, with or without a switch.
			for _, r := range readActions {
				if !a.Can(r) {
					a.Actions = append(a.Actions, r)
				}
			}
		}
		auths[id] = a
		reads[id] = read{member: member, version: m.Version, custom: custom}
	}
	return auths, accts, reads, nil
}

// ErrAccountClosed refuses work in a closed account: every write, and
// every read by anyone but tenant operators.
var ErrAccountClosed = apperr.New(apperr.KindConflict, "account_closed", "this account is closed")

// closedRefusal is the pure rule of a closed account (its data kept): tenant
// operators read everything it kept (switched into it or not) and may
// reopen it; nobody writes to it (wiping it is CloseAccount's own path);
// its own users, who cannot sign in to it, read nothing of it.
func closedRefusal(operator bool, action Action) error {
	switch {
	case operator && action == ReopenAccount:
		return nil
	case operator && IsRead(action):
		return nil
	case operator:
		return ErrAccountClosed.Withf("this account is closed: nothing in it changes (%s) until a tenant operator reopens it", action)
	case slices.Contains(OperatorActions, action):
		return ErrOperatorsOnly.Withf("only tenant operators may do %s", action)
	}
	return ErrAccountClosed
}

// Grant is the proof that a grantor may grant roles in one account, and
// the checks that keep it true until the grant commits: the grantor's
// membership and the custom roles involved at the versions read (so a
// grantor demoted, or a role widened, at the same moment makes the grant
// fail, 409, rather than leave more granted than the grantor holds), and
// for support staff that they still are operators.
type Grant struct {
	Authority Authority
	checks    []*store.Write
}

// Checks are the grant's transaction items.
func (g Grant) Checks() []*store.Write { return g.checks }

// ErrUnknownRole refuses a role the tenant does not define.
func ErrUnknownRole(role string) error {
	return apperr.Validation(apperr.FieldError{Field: "roles", Code: "unknown_role",
		Detail: fmt.Sprintf("%q is not a role of this tenant: a role is Admin, Viewer or one of the tenant's custom roles", role)})
}

// RequireGrant decides whether caller may, doing action (users.invite,
// roles.manage...), grant roles in accountID to targetUserID ("" for an
// invitation to an address): never their own roles, only roles within
// their own rights there, Admin only as an Admin. Unknown custom roles are
// 422. The Grant's checks go into the transaction that grants.
func (c Checker) RequireGrant(ctx context.Context, caller Caller, action Action, accountID, targetUserID string, roles []string) (Grant, error) {
	if targetUserID != "" && targetUserID == caller.UserID {
		return Grant{}, ErrOwnRoles
	}
	if accountID != "" && accountID == caller.AccountID && caller.Member && !caller.Operator && !caller.IsKey() {
		// The session resolution read this membership and its open account
		// moments ago: only the custom roles involved are still to read. The
		// membership is held at the version read, as after a read of it.
		custom, err := c.customRoles(ctx, caller.Tenant, append(slices.Clone(roles), caller.Roles...))
		if err != nil {
			return Grant{}, fmt.Errorf("check grant in account %s: %w", accountID, err)
		}
		a := AuthorityOf(accountID, true, caller.Roles, custom.actions(), false, false)
		return grantFrom(caller.Tenant, caller.UserID, false, caller.AccountID, action, accountID, roles, a,
			read{member: true, version: caller.MemberVersion, custom: custom})
	}
	return c.grant(ctx, caller.Tenant, caller.UserID, caller.Operator, supportIn(caller, accountID), caller.AccountID, action, accountID, roles)
}

// RequireGrantBy is RequireGrant for a grant someone made earlier and that
// takes effect now (an invitation being accepted): userID must still be an
// active user (an operator still, when they granted as support) holding the
// rights to grant roles in accountID. Its checks also hold the grantor's
// user item to that.
func (c Checker) RequireGrantBy(ctx context.Context, t table.Tenant, userID string, asSupport bool, action Action, accountID string, roles []string) (Grant, error) {
	var u identity.User
	ok, err := c.Store.Get(ctx, t.User(userID), &u)
	if err != nil {
		return Grant{}, fmt.Errorf("read grantor %s: %w", userID, err)
	}
	if !ok || u.Status != identity.UserActive {
		return Grant{}, ErrGrantExceeds.Withf("the person who granted this is no longer an active user")
	}
	if asSupport && !u.Operator {
		return Grant{}, ErrGrantExceeds.Withf("the person who granted this is no longer tenant support staff")
	}
	g, err := c.grant(ctx, t, userID, u.Operator, asSupport && u.Operator, "", action, accountID, roles)
	if err != nil {
		return Grant{}, err
	}
	g.checks = append(g.checks, identity.StillActive(t, userID).OrFail(ErrGrantorChanged))
	return g, nil
}

func (c Checker) grant(ctx context.Context, t table.Tenant, userID string, operator, support bool, activeAccount string,
	action Action, accountID string, roles []string) (Grant, error) {
	auths, _, reads, err := c.authoritiesRead(ctx, t, userID, operator, func(id string) bool { return support && id == accountID },
		action, []string{accountID}, roles)
	if err != nil {
		return Grant{}, fmt.Errorf("check grant in account %s: %w", accountID, err)
	}
	return grantFrom(t, userID, support, activeAccount, action, accountID, roles, auths[accountID], reads[accountID])
}

// grantFrom decides a grant from the grantor's authority in accountID and
// what it was computed from, and makes the checks that hold both until the
// grant commits.
func grantFrom(t table.Tenant, userID string, support bool, activeAccount string,
	action Action, accountID string, roles []string, a Authority, rd read) (Grant, error) {
	if err := a.Refusal(action, activeAccount); err != nil {
		return Grant{}, err
	}
	for _, r := range roles {
		if _, ok := rd.custom[r]; !ok && !IsBuiltIn(r) {
			return Grant{}, ErrUnknownRole(r)
		}
	}
	if err := a.CheckGrant(roles, rd.custom.actions()); err != nil {
		return Grant{}, err
	}
	g := Grant{Authority: a}
	if rd.member && !support {
		g.checks = append(g.checks, store.Check(t.Membership(accountID, userID), store.AtVersion(rd.version)).OrFail(ErrGrantorChanged))
	}
	if support {
		g.checks = append(g.checks, identity.StillOperator(t, userID).OrFail(ErrGrantorChanged))
	}
	involved := slices.Clone(roles)
	if rd.member && !support {
		involved = append(involved, a.Roles...)
	}
	done := map[string]bool{}
	for _, r := range involved {
		cr, ok := rd.custom[r]
		if !ok || done[r] {
			continue
		}
		done[r] = true
		var fail error = ErrGrantorChanged
		if slices.Contains(roles, r) {
			fail = ErrUnknownRole(r)
		}
		g.checks = append(g.checks, store.Check(t.Role(r), store.AtVersion(cr.Version)).OrFail(fail))
	}
	return g, nil
}

// CustomRole is a tenant's named set of actions.
type CustomRole struct {
	PK          string   `dynamodbav:"PK"`
	SK          string   `dynamodbav:"SK"`
	Type        string   `dynamodbav:"type"`
	Name        string   `dynamodbav:"name"`
	Permissions []Action `dynamodbav:"permissions"`
	Version     int64    `dynamodbav:"version"`
}

// customRoles are custom role definitions by name.
type customRoles map[string]CustomRole

func (cr customRoles) actions() map[string][]Action {
	out := make(map[string][]Action, len(cr))
	for k, v := range cr {
		out[k] = v.Permissions
	}
	return out
}

func (c Checker) customRoles(ctx context.Context, t table.Tenant, roles []string) (customRoles, error) {
	var keys []table.Key
	for _, r := range roles {
		if !IsBuiltIn(r) {
			keys = append(keys, t.Role(r))
		}
	}
	if len(keys) == 0 || c.Store == nil {
		return customRoles{}, nil
	}
	items, err := c.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load custom roles: %w", err)
	}
	out := customRoles{}
	for _, it := range items {
		var r CustomRole
		if err := attributevalue.UnmarshalMap(it, &r); err == nil {
			out[r.Name] = r
		}
	}
	return out, nil
}

// IdempotencyScope scopes Idempotency-Keys to the calling user of a tenant
// (httpapi.Idempotency's Scope), so two callers' keys never collide.
func IdempotencyScope(ctx context.Context, _ events.APIGatewayV2HTTPRequest) (table.Tenant, string, error) {
	c, err := CallerFrom(ctx)
	if err != nil {
		return table.Tenant{}, "", err
	}
	if c.IsKey() {
		return c.Tenant, "key:" + c.KeyID, nil
	}
	return c.Tenant, "user:" + c.UserID, nil
}
