// Package access answers one question for every handler: may this caller do
// this action in this account? It also reads the caller from the authorizer
// context, the only place a handler learns who is calling.
package access

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Built-in roles.
const (
	RoleAdmin  = "Admin"
	RoleViewer = "Viewer"
)

// Action is something a caller may or may not do in an account.
type Action string

// Actions. Reads are open to every member; everything else needs a role that
// grants it. Admin grants all.
const (
	ReadAccount     Action = "account.read"
	EditAccount     Action = "account.edit"
	CloseAccount    Action = "account.close"
	ReadUsers       Action = "users.read"
	InviteUsers     Action = "users.invite"
	EditUsers       Action = "users.edit"
	DeleteUsers     Action = "users.delete"
	ManageRoles     Action = "roles.manage"
	ManageLicences  Action = "licences.manage"
	ManageLinks     Action = "links.manage"
	ManageContent   Action = "content.manage"
	ReassignContent Action = "content.reassign"
	RecordUsage     Action = "usage.record"
	ResetUsage      Action = "usage.reset"
	ReadAudit       Action = "audit.read"
)

// AllActions lists every action (custom roles choose among them).
var AllActions = []Action{ReadAccount, EditAccount, CloseAccount, ReadUsers, InviteUsers, EditUsers, DeleteUsers,
	ManageRoles, ManageLicences, ManageLinks, ManageContent, ReassignContent, RecordUsage, ResetUsage, ReadAudit}

var readActions = []Action{ReadAccount, ReadUsers, ReadAudit}

// builtIn are the permissions of the built-in roles.
var builtIn = map[string][]Action{
	RoleAdmin:  AllActions,
	RoleViewer: readActions,
}

// IsBuiltIn reports whether role is Admin or Viewer.
func IsBuiltIn(role string) bool { _, ok := builtIn[role]; return ok }

// Allowed is the pure decision: do these roles grant action? custom maps a
// tenant's custom role names to their actions.
func Allowed(roles []string, custom map[string][]Action, action Action) bool {
	for _, r := range roles {
		if slices.Contains(builtIn[r], action) || slices.Contains(custom[r], action) {
			return true
		}
	}
	return false
}

// Caller is who is calling, as the authorizer resolved it for this request.
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
}

// EntersAsSupport reports whether a caller entering accountID does so as
// support: a tenant operator entering an account that is neither their home
// account nor one they hold a licensed membership in. Only a switch with a
// reason enters as support; the session keeps the reason, and every change
// made in it is logged with it.
func EntersAsSupport(operator bool, homeAccountID, accountID string, licensedMember bool) bool {
	return operator && accountID != homeAccountID && !licensedMember
}

// Authorizer context keys (the Lambda authorizer's simple-response context).
const (
	CtxTenant    = "tenantId"
	CtxUser      = "userId"
	CtxSession   = "sessionId"
	CtxAccount   = "accountId"
	CtxRoles     = "roles"
	CtxOperator  = "operator"
	CtxReason    = "supportReason" // only present in an operator's support session
	CtxRejected  = "rejected"      // why the token was refused; no caller then
	rolesJoinSep = ","
)

// Rejected is the authorizer context of a refused token.
func Rejected(reason string) map[string]any { return map[string]any{CtxRejected: reason} }

// Context is what the authorizer returns for a caller.
func (c Caller) Context() map[string]any {
	m := map[string]any{
		CtxTenant: c.Tenant.ID(), CtxUser: c.UserID, CtxSession: c.SessionID, CtxAccount: c.AccountID,
		CtxRoles: strings.Join(c.Roles, rolesJoinSep), CtxOperator: c.Operator,
	}
	if c.Operator && c.SupportReason != "" {
		m[CtxReason] = c.SupportReason
	}
	return m
}

// CallerFrom reads the caller from the request's authorizer context. A request
// without one (a route without the authorizer, or a forged event) is 401, and
// so is one whose token the authorizer refused: the authorizer lets such
// requests through with only the reason, so that the handler answers a
// problem+json 401 that says why (expired, revoked, suspended) instead of API
// Gateway's bare 403.
func CallerFrom(req events.APIGatewayV2HTTPRequest) (Caller, error) {
	if req.RequestContext.Authorizer == nil || req.RequestContext.Authorizer.Lambda == nil {
		return Caller{}, apperr.ErrUnauthenticated
	}
	m := req.RequestContext.Authorizer.Lambda
	str := func(k string) string { s, _ := m[k].(string); return s }
	if reason := str(CtxRejected); reason != "" {
		return Caller{}, apperr.ErrUnauthenticated.Withf("%s", reason)
	}
	t, err := table.ForTenant(str(CtxTenant))
	if err != nil || str(CtxUser) == "" || str(CtxSession) == "" {
		return Caller{}, apperr.ErrUnauthenticated
	}
	var roles []string
	if r := str(CtxRoles); r != "" {
		roles = strings.Split(r, rolesJoinSep)
	}
	op := false
	switch v := m[CtxOperator].(type) {
	case bool:
		op = v
	case string:
		op = v == "true"
	}
	c := Caller{Tenant: t, UserID: str(CtxUser), SessionID: str(CtxSession), AccountID: str(CtxAccount), Roles: roles, Operator: op}
	if op {
		c.SupportReason = str(CtxReason)
	}
	return c, nil
}

// Checker makes permission decisions that need the store: the caller's roles
// in an account other than the active one, and custom role definitions.
type Checker struct{ Store *store.Store }

type memberRoles struct {
	Roles []string `dynamodbav:"roles,stringset"`
}

type accountState struct {
	Status string `dynamodbav:"status"`
}

// Require returns nil when caller may do action in accountID. An account that
// does not exist in the caller's tenant (including every other tenant's
// account) is 404; a member without the permission, or a non-member, is 403.
// Operators may act in any account of their tenant.
func (c Checker) Require(ctx context.Context, caller Caller, action Action, accountID string) error {
	if accountID == "" {
		return apperr.ErrNotFound
	}
	if accountID == caller.AccountID && !caller.Operator {
		// The authorizer read the membership and the account for this request.
		return c.decide(ctx, caller, caller.Roles, action)
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
	t := caller.Tenant
	keys := make([]table.Key, 0, 2*len(accountIDs))
	for _, id := range accountIDs {
		if id == "" {
			return nil, apperr.ErrNotFound
		}
		keys = append(keys, t.Account(id), t.Membership(id, caller.UserID))
	}
	items, err := c.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("check %s in accounts %v: %w", action, accountIDs, err)
	}
	accts := make(map[string]map[string]types.AttributeValue, len(accountIDs))
	for _, id := range accountIDs {
		acc, ok := items[t.Account(id)]
		if !ok {
			return nil, apperr.ErrNotFound.Withf("no account %s", id)
		}
		accts[id] = acc
		var state accountState
		_ = attributevalue.UnmarshalMap(acc, &state)
		if state.Status == "closed" && action != ReadAccount {
			return nil, apperr.New(apperr.KindConflict, "account_closed", "this account is closed")
		}
		if caller.Operator {
			continue
		}
		mi, ok := items[t.Membership(id, caller.UserID)]
		if !ok {
			return nil, apperr.ErrForbidden.Withf("you are not a member of account %s", id)
		}
		var m memberRoles
		if err := attributevalue.UnmarshalMap(mi, &m); err != nil {
			return nil, apperr.Internal("decode membership", err)
		}
		if err := c.decide(ctx, caller, m.Roles, action); err != nil {
			return nil, err
		}
	}
	return accts, nil
}

func (c Checker) decide(ctx context.Context, caller Caller, roles []string, action Action) error {
	if Allowed(roles, nil, action) {
		return nil
	}
	custom, err := c.customRoles(ctx, caller.Tenant, roles)
	if err != nil {
		return err
	}
	if Allowed(roles, custom, action) {
		return nil
	}
	return apperr.ErrForbidden.Withf("your role does not allow %s", action)
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

func (c Checker) customRoles(ctx context.Context, t table.Tenant, roles []string) (map[string][]Action, error) {
	var keys []table.Key
	for _, r := range roles {
		if !IsBuiltIn(r) {
			keys = append(keys, t.Role(r))
		}
	}
	if len(keys) == 0 || c.Store == nil {
		return nil, nil
	}
	items, err := c.Store.GetMany(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("load custom roles: %w", err)
	}
	out := map[string][]Action{}
	for _, it := range items {
		var r CustomRole
		if err := attributevalue.UnmarshalMap(it, &r); err == nil {
			out[r.Name] = r.Permissions
		}
	}
	return out, nil
}

// IdempotencyScope scopes Idempotency-Keys to the calling user of a tenant
// (httpapi.Idempotency's Scope), so two callers' keys never collide.
func IdempotencyScope(req events.APIGatewayV2HTTPRequest) (table.Tenant, string, error) {
	c, err := CallerFrom(req)
	if err != nil {
		return table.Tenant{}, "", err
	}
	return c.Tenant, "user:" + c.UserID, nil
}
