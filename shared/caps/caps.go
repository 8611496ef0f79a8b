// Package caps is the tenant's hourly caps and the counters they and the
// invitation quotas are made of.
package caps

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// Tenant-wide hourly caps (tenancy.Limits), beside the per-inviter and
// per-account invitation limits, so that the helpers and accounts an Admin
// creates cannot multiply those: invitations sent, accounts created and
// Admins made in the whole tenant per UTC hour. Each is one counter item
// per tenant and hour, raised with the same conditional ADD as the
// invitation quotas (quotaWrite) inside the transaction of the change it
// counts, so racing changes never pass the cap and a refused change writes
// nothing. Operators are not exempt (a phished operator is what the caps
// are for); an operator raises a cap in the tenant settings.

// TenantCap is one of a tenant's hourly caps.
type TenantCap struct {
	setting string // the tenancy.Limits field, as the tenant settings name it
	counts  string // what it counts, for the detail
	limit   func(tenancy.Limits) int
	key     func(table.Tenant, time.Time) table.Key
	fail    *apperr.Error
}

// The tenant caps.
var (
	// Invitations counts invitations sent and resent; shared/invitations
	// answers it as its per-inviter and per-account limits
	// (WithRefusal).
	Invitations = TenantCap{setting: "invitationsPerHour", counts: "invitations sent",
		limit: func(l tenancy.Limits) int { return l.InvitationsPerHour }, key: table.Tenant.TenantInviteQuota, fail: ErrTenantCap}
	// Accounts counts accounts created (POST /accounts, new linked children).
	Accounts = TenantCap{setting: "accountsPerHour", counts: "accounts created",
		limit: func(l tenancy.Limits) int { return l.AccountsPerHour }, key: table.Tenant.AccountsCreated, fail: ErrTenantCap}
	// Admins counts memberships gaining the Admin role, and invitations
	// offering it (one per target account) when they are created.
	Admins = TenantCap{setting: "adminsPerHour", counts: "Admins made",
		limit: func(l tenancy.Limits) int { return l.AdminsPerHour }, key: table.Tenant.AdminsCreated, fail: ErrTenantCap}
)

// ErrTenantCap refuses a change over one of the tenant's hourly caps (429,
// with Retry-After at the next hour).
var ErrTenantCap = apperr.New(apperr.KindRateLimited, "tenant_hourly_cap",
	"this tenant reached its hourly cap; try again later, or ask a tenant operator to raise it in the tenant settings")

// WithRefusal is the cap answering with fail's kind and code.
func (c TenantCap) WithRefusal(fail *apperr.Error) TenantCap { c.fail = fail; return c }

// Limit is the cap's value in the tenant's settings (or its default).
func (c TenantCap) Limit(s tenancy.Settings) int { return c.limit(s.Limit()) }

// Reserve is the write, for the change's own transaction, that counts n
// more against the cap in now's hour. When the hour's count would pass the
// cap the transaction fails with the cap's 429, naming the setting and when
// to retry.
func (c TenantCap) Reserve(t table.Tenant, s tenancy.Settings, n int, now time.Time) *store.Write {
	hour := now.Truncate(time.Hour)
	limit := c.Limit(s)
	return Counter(c.key(t, hour), n, limit, hour.Add(time.Hour), c.err(limit, now, email.Zone(s.Zone())))
}

// err is the cap's refusal at now.
func (c TenantCap) err(limit int, now time.Time, zone *time.Location) *apperr.Error {
	next := now.Truncate(time.Hour).Add(time.Hour)
	retry := int64(next.Sub(now).Seconds() + 0.999)
	return c.fail.Withf("this tenant allows at most %d %s per hour (tenant setting %s), whoever makes them; try again after %s, "+
		"or ask a tenant operator to raise %s in the tenant settings", limit, c.counts, c.setting, email.FormatInstantIn(next, zone), c.setting).
		With("retryAfterSeconds", retry).With("limit", limit).With("cap", c.setting)
}

// HourlyCount is the item of one hourly counter, of a cap or a quota: how
// many were counted in its hour. The TTL cleans it up after the hour.
type HourlyCount struct {
	PK    string `dynamodbav:"PK"`
	SK    string `dynamodbav:"SK"`
	Type  string `dynamodbav:"type,omitempty"`
	Count int    `dynamodbav:"count"`
	TTL   int64  `dynamodbav:"ttl"`
}

// Release is the write that gives back n to the hourly counter at k, what
// a request counted but did not use. Unconditional: a release can only
// make room.
func Release(k table.Key, n int) *store.Write {
	return store.Update(k, expression.Add(expression.Name("count"), expression.Value(-n)))
}

// Below is the write that adds one to the hourly counter at k, while it is
// below max (a first write of the hour creates it), failing with fail; ttl
// (epoch seconds) cleans it up. The text messages' quotas use it.
func Below(k table.Key, max int, ttl int64, fail error) *store.Write {
	count := expression.Name("count")
	return store.Update(k, expression.Add(count, expression.Value(1)).Set(expression.Name("ttl"), expression.Value(ttl))).
		If(expression.Or(expression.AttributeNotExists(count), count.LessThan(expression.Value(max)))).
		OrFail(fail)
}

// Counter is the write that adds n to an hourly counter at k, on the
// condition that it stays within limit (a first write of the hour creates
// it), failing with fail. hourEnd sets the clean-up TTL.
func Counter(k table.Key, n, limit int, hourEnd time.Time, fail *apperr.Error) *store.Write {
	count := expression.Name("count")
	upd := expression.Add(count, expression.Value(n)).
		Set(expression.Name("type"), expression.Value("INVITE_QUOTA")).
		Set(expression.Name("ttl"), expression.Value(hourEnd.Add(time.Hour).Unix())) // clean-up only
	within := count.LessThanEqual(expression.Value(limit - n))
	if n <= limit { // more than the limit at once never fits, not even in a new hour
		within = expression.AttributeNotExists(count).Or(within)
	}
	return store.Update(k, upd).If(within).OrFail(fail)
}
