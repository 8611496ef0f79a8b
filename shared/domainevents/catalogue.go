package domainevents

// DetailTypes is every detail-type the service puts (a change-log action),
// with what its subject is. events/schemas holds one JSON Schema per entry
// (a test keeps both the same), the contract of the events for the rules
// that product teams write.
var DetailTypes = map[string]string{
	"tenant.bootstrapped":             "user",
	"tenant.settings_changed":         "tenant",
	"role.defined":                    "role",
	"role.deleted":                    "role",
	"plan.defined":                    "plan",
	"licence_type.defined":            "licence",
	"licence.seats_changed":           "licence",
	"account.created":                 "account",
	"account.renamed":                 "account",
	"account.plan_changed":            "account",
	"account.closed":                  "account",
	"account.reopened":                "account",
	"account.wiped":                   "account",
	"account.linked":                  "account",
	"account.unlinked":                "account",
	"account.child_linked":            "account",
	"account.child_unlinked":          "account",
	"support.entered":                 "account",
	"usage.reset":                     "account",
	"usage.period_closed":             "account",
	"invitation.created":              "invitation",
	"invitation.resent":               "invitation",
	"invitation.revoked":              "invitation",
	"invitation.expired":              "invitation",
	"invitation.accepted":             "user",
	"invitation.bounced":              "invitation", // SES reported a bounce (permanent or transient)
	"invitation.complained":           "invitation",
	"invitation.delayed":              "invitation",
	"invitation.rejected":             "invitation",
	"email.suppressed":                "email", // an address on the tenant's suppression list (tenant log)
	"email.unsuppressed":              "email",
	"associate.added":                 "user",
	"membership.removed":              "user",
	"membership.roles_changed":        "user",
	"membership.licence_changed":      "user",
	"user.created":                    "user",
	"user.profile_changed":            "user",
	"user.email_changed":              "user",
	"user.email_verified":             "user",
	"user.home_moved":                 "user",
	"user.suspended":                  "user",
	"user.reactivated":                "user",
	"user.signed_out_everywhere":      "user",
	"user.password_changed":           "user",
	"user.password_set":               "user",
	"user.deleted":                    "user",
	"content.registered":              "content",
	"content.deleted":                 "content",
	"content.reassigned":              "user",
	"content.reassignment_failed":     "user",
	"account.children_recounted":      "account",
	"account.two_factor_required":     "account",
	"api_key.created":                 "api_key",
	"api_key.revoked":                 "api_key",
	"user.recovery_codes_regenerated": "user",
	"user.two_factor_enrolled":        "user",
	"user.two_factor_reset":           "user",
}

// TenantLogged are the detail-types that can come from the tenant-level log
// (detail.log "tenant"): what happens to an account as a whole (also in the
// account's log), and the keys of the tenant (only there).
var TenantLogged = map[string]bool{"account.closed": true, "account.reopened": true, "account.wiped": true,
	"api_key.created": true, "api_key.revoked": true, "email.suppressed": true, "email.unsuppressed": true}
