package invitations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/jobs"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// InviteRequest is the body of POST /accounts/{accountId}/invitations.
type InviteRequest struct {
	Emails     []string `json:"emails"`
	AccountIDs []string `json:"accountIds,omitempty"` // more target accounts besides the path's
	Roles      []string `json:"roles,omitempty"`      // default: the tenant's default role
	Message    string   `json:"message,omitempty"`
	SendEmail  *bool    `json:"sendEmail,omitempty"` // default true
	Licence    *string  `json:"licence,omitempty"`   // a licence type of the tenant's; default: the tenant's default licence
}

// Invite is a validated invitation request.
type Invite struct {
	Caller     access.Caller
	AccountIDs []string // the path's account first, no duplicates
	Emails     []string // as given; each is normalised, or reported invalid, on its own
	Roles      []string // empty: the tenant's default role
	Message    string
	SendEmail  bool
	Licence    string // "": the tenant's default licence
}

// Command validates the request for accountID (the path's). Every bad field
// is reported at once (422); a bad email address is not a bad request: it is
// reported per email and never blocks the others.
func (r InviteRequest) Command(caller access.Caller, accountID string) (Invite, error) {
	if !ids.Valid(accountID) {
		return Invite{}, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	var f apperr.Fields
	f.Check(len(r.Emails) > 0, "emails", "required", "give at least one email address")
	f.Check(len(r.Emails) <= MaxEmails, "emails", "too_many", fmt.Sprintf("at most %d email addresses per request", MaxEmails))
	targets := []string{accountID}
	for _, a := range r.AccountIDs {
		a = strings.TrimSpace(a)
		if !ids.Valid(a) {
			f.Add("accountIds", "invalid_id", fmt.Sprintf("%q is not an account id", truncate(a, 70)))
			continue
		}
		if !slices.Contains(targets, a) {
			targets = append(targets, a)
		}
	}
	f.Check(len(targets) <= MaxAccounts, "accountIds", "too_many", fmt.Sprintf("an invitation can name at most %d accounts", MaxAccounts))
	var roles []string
	for _, role := range r.Roles {
		role = strings.TrimSpace(role)
		if role == "" || len(role) > 64 || strings.ContainsAny(role, "#\n\r\t") {
			f.Add("roles", "invalid_role", "a role is a name of 1 to 64 characters")
			continue
		}
		if !slices.Contains(roles, role) {
			roles = append(roles, role)
		}
	}
	f.Check(len(roles) <= MaxRoles, "roles", "too_many", fmt.Sprintf("at most %d roles", MaxRoles))
	msg, msgErr := cleanMessage(r.Message)
	if msgErr != "" {
		f.Add("message", "invalid_message", msgErr)
	}
	var licence string
	if r.Licence != nil {
		licence = strings.TrimSpace(*r.Licence)
		f.Check(licences.ValidType(licence), "licence", licences.CodeUnknown, "a licence type is lower-case letters, digits, '-' or '_', like office")
	}
	if err := f.Err(); err != nil {
		return Invite{}, err
	}
	send := r.SendEmail == nil || *r.SendEmail
	return Invite{Caller: caller, AccountIDs: targets, Emails: r.Emails, Roles: roles, Message: msg, SendEmail: send, Licence: licence}, nil
}

// cleanMessage trims the personal message and checks it is bounded text.
func cleanMessage(m string) (string, string) {
	m = strings.TrimSpace(strings.ReplaceAll(m, "\r\n", "\n"))
	switch {
	case !utf8.ValidString(m):
		return "", "the message must be UTF-8 text"
	case utf8.RuneCountInString(m) > MaxMessageRunes:
		return "", fmt.Sprintf("the message may have at most %d characters", MaxMessageRunes)
	}
	for _, r := range m {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return "", "the message may not contain control characters"
		}
	}
	return m, ""
}

// Per-email results.
const (
	ResultCreated        = "created"
	ResultAlreadyMember  = "already_member"
	ResultAlreadyInvited = "already_invited"
	ResultInvalid        = "invalid"
	// ResultSuppressed: the address is on the tenant's suppression list
	// (a permanent bounce or a complaint); the detail says why and when.
	// A request of one address is refused instead (409 address_suppressed).
	ResultSuppressed = "address_suppressed"
)

// EmailResult says what happened to one email address of a request.
type EmailResult struct {
	Email           string           `json:"email"` // as given
	NormalizedEmail string           `json:"normalizedEmail,omitempty"`
	Result          string           `json:"result"`
	Detail          string           `json:"detail,omitempty"`
	InvitationID    string           `json:"invitationId,omitempty"`
	AccountIDs      []string         `json:"accountIds,omitempty"` // the accounts the invitation is for
	Skipped         []SkippedAccount `json:"skipped,omitempty"`    // target accounts left out, and why
	ExpiresAt       *time.Time       `json:"expiresAt,omitempty"`
	Delivery        string           `json:"delivery,omitempty"`
	DeliveryError   string           `json:"deliveryError,omitempty"`
	// AcceptURL is the link to hand over, only when sendEmail was false.
	AcceptURL string `json:"acceptUrl,omitempty"`
}

// SkippedAccount is a target account an email was not invited to.
type SkippedAccount struct {
	AccountID string `json:"accountId"`
	Reason    string `json:"reason"` // already_member, already_invited
}

// InviteResult is the outcome of a request, one result per email given.
type InviteResult struct {
	Results []EmailResult  `json:"results"`
	Counts  map[string]int `json:"counts"`
}

// Created is how many invitations the request created.
func (r InviteResult) Created() int { return r.Counts[ResultCreated] }

// inviteContext is what every invitation of a request shares.
type inviteContext struct {
	settings tenancy.Settings
	inviter  identity.User
	accounts map[string]accounts.Account
	roles    []string
	grants   grants // the inviter's right to grant roles, by target account
	licence  string
	seats    map[string]licences.Seats // of licence, by target account
}

// Invite creates one invitation per new email address (to every target
// account the address is not already a member of or invited to) and emails
// the links. The caller must be allowed to invite in every target account
// and to grant the roles there (within their own rights; Admin only as an
// Admin, or as support switched into the account), else nothing is created
// (404 for an account outside the tenant, 403 otherwise, 422 for a role the
// tenant does not define). Each invitation is one transaction; they run in parallel. A
// DynamoDB outage while creating makes the request fail after the others are
// done; retrying it is safe (the ones made are then already_invited).
func (s *Service) Invite(ctx context.Context, cmd Invite) (InviteResult, error) {
	caller, t := cmd.Caller, cmd.Caller.Tenant
	ic, err := s.loadInviteContext(ctx, t, caller.UserID, cmd.AccountIDs, cmd.Roles)
	if err != nil {
		return InviteResult{}, err
	}
	if err := ic.inviter.RequireVerifiedEmail(); err != nil {
		return InviteResult{}, err // an address nobody proved sends no invitations
	}
	if ic.grants, err = s.requireGrants(ctx, caller, cmd.AccountIDs, ic.roles); err != nil {
		if len(cmd.Roles) == 0 {
			return InviteResult{}, defaultRoleRefused(err, ic.roles[0])
		}
		return InviteResult{}, err
	}
	// The licence offered: a type of the tenant's catalogue, not retired.
	ic.licence = cmd.Licence
	if ic.licence == "" {
		ic.licence = ic.settings.Licence()
	}
	if err := ic.settings.Catalogue().Check("licence", ic.licence); err != nil {
		return InviteResult{}, err
	}
	if ic.seats, err = s.seatsFor(ctx, t, ic.settings, ic.accounts, cmd.AccountIDs, ic.licence); err != nil {
		return InviteResult{}, err
	}
	now := s.Clock.Now()

	// Normalise: trimmed, and lower-cased whole, local part included. RFC 5321
	// lets a local part be case-sensitive, but no mainstream provider treats
	// it so and people type their address in any case; one person must not
	// get two invitations, or become two users, because of it. The invitation
	// stores, emails and matches the lower-cased address (the email claim of
	// users uses the same form, see identity.NormalizeEmail). Duplicates
	// point at their first occurrence.
	results := make([]EmailResult, len(cmd.Emails))
	first := map[string]int{}
	var unique []string
	for i, raw := range cmd.Emails {
		results[i].Email = raw
		addr, err := identity.NormalizeEmail(raw)
		if err != nil {
			results[i].Result, results[i].Detail = ResultInvalid, identity.EmailFieldError(err).Detail
			continue
		}
		results[i].NormalizedEmail = addr
		if _, dup := first[addr]; dup {
			continue // filled in from the first occurrence below
		}
		first[addr] = i
		unique = append(unique, addr)
	}

	known, err := s.lookupInvitees(ctx, t, unique, cmd.AccountIDs)
	if err != nil {
		return InviteResult{}, err
	}
	type plan struct {
		index   int
		email   string
		targets []string
	}
	var plans []plan
	perAccount := map[string]int{}
	offersAdmin := slices.Contains(ic.roles, access.RoleAdmin)
	admins := 0                 // Admin memberships offered: one per target account, when Admin is offered
	refusals := map[int]error{} // suppressed addresses, by result index
	for _, addr := range unique {
		i := first[addr]
		if e, ok := known.suppressed[addr]; ok {
			refusal := suppression.Refusal(e)
			results[i].Result, results[i].Detail, refusals[i] = ResultSuppressed, refusal.Detail, refusal
			continue
		}
		var targets []string
		invited := 0
		for _, a := range cmd.AccountIDs {
			switch {
			case known.member[addr][a]:
				results[i].Skipped = append(results[i].Skipped, SkippedAccount{AccountID: a, Reason: ResultAlreadyMember})
			case known.pending[addr][a] != "":
				invited++
				results[i].Skipped = append(results[i].Skipped, SkippedAccount{AccountID: a, Reason: ResultAlreadyInvited})
			default:
				targets = append(targets, a)
			}
		}
		switch {
		case len(targets) > 0:
			plans = append(plans, plan{index: i, email: addr, targets: targets})
			for _, a := range targets {
				perAccount[a]++
			}
			if offersAdmin {
				admins += len(targets)
			}
		case invited > 0:
			results[i].Result = ResultAlreadyInvited
			results[i].Detail = "a pending invitation exists already; resend it instead"
			for _, a := range cmd.AccountIDs {
				if id := known.pending[addr][a]; id != "" && results[i].InvitationID == "" {
					results[i].InvitationID = id
				}
			}
		default:
			results[i].Result, results[i].Detail = ResultAlreadyMember, "already a member"
		}
	}

	if err := enoughSeats(ic.seats, perAccount, ic.settings.PurchaseURL); err != nil {
		return InviteResult{}, err
	}
	if err := s.reserveQuota(ctx, t, ic.settings, caller.UserID, perAccount, len(plans), admins, now); err != nil {
		return InviteResult{}, err
	}
	var (
		mu           sync.Mutex
		failures     []error
		unused       = map[string]int{}
		unusedN      int
		unusedAdmins int
	)
	jobs.Parallel(len(plans), s.workers(), func(p int) {
		pl := plans[p]
		r := &results[pl.index]
		inv, token, err := s.create(ctx, t, cmd, ic, pl.email, pl.targets, now)
		if err != nil {
			mu.Lock()
			defer mu.Unlock()
			unusedN++
			for _, a := range pl.targets {
				unused[a]++
			}
			if offersAdmin {
				unusedAdmins += len(pl.targets)
			}
			if errors.Is(err, ErrAlreadyInvited) {
				// Another request invited this address at the same moment.
				r.Result, r.Detail = ResultAlreadyInvited, "a pending invitation was created at the same moment; resend it instead"
				return
			}
			if errors.Is(err, suppression.ErrSuppressed) {
				// SES reported the address while this request ran.
				r.Result, refusals[pl.index] = ResultSuppressed, err
				if e, ok := apperr.As(err); ok {
					r.Detail = e.Detail
				}
				return
			}
			failures = append(failures, err)
			return
		}
		exp := inv.Expiry()
		r.Result, r.InvitationID, r.AccountIDs, r.ExpiresAt = ResultCreated, inv.ID, pl.targets, &exp
		if cmd.SendEmail {
			r.Delivery, r.DeliveryError = s.deliver(ctx, t, inv, token, ic)
		} else {
			r.Delivery, r.AcceptURL = DeliveryNotRequested, s.link(token)
		}
	})
	if unusedN > 0 {
		s.releaseQuota(ctx, t, caller.UserID, unused, unusedN, unusedAdmins, now)
	}
	if len(failures) > 0 {
		return InviteResult{}, fmt.Errorf("invite %d of %d addresses failed: %w", len(failures), len(plans), failures[0])
	}

	if len(results) == 1 && refusals[0] != nil {
		return InviteResult{}, refusals[0] // nothing was written: 409 address_suppressed
	}
	for i := range results {
		if results[i].Result != "" || results[i].NormalizedEmail == "" {
			continue
		}
		j := first[results[i].NormalizedEmail]
		results[i].Result = ResultAlreadyInvited
		results[i].InvitationID = results[j].InvitationID
		results[i].Detail = fmt.Sprintf("the same address as entry %d of this request", j+1)
	}
	counts := map[string]int{ResultCreated: 0, ResultAlreadyMember: 0, ResultAlreadyInvited: 0, ResultInvalid: 0, ResultSuppressed: 0}
	for _, r := range results {
		counts[r.Result]++
	}
	return InviteResult{Results: results, Counts: counts}, nil
}

// create writes one invitation in one transaction: the invitation, an index
// entry and a pending guard per target account, a change-log entry per
// account, and the checks that the inviter's right to grant its roles there
// still holds.
func (s *Service) create(ctx context.Context, t table.Tenant, cmd Invite, ic inviteContext, addr string, targets []string, now time.Time) (Invitation, string, error) {
	id := s.IDs.NewID()
	token := newToken(t, id)
	k := t.Invitation(id)
	exp := now.Add(ValidFor)
	due := t.DueInvitation(exp, id)
	delivery := DeliverySending
	if !cmd.SendEmail {
		delivery = DeliveryNotRequested
	}
	inv := Invitation{PK: k.PK, SK: k.SK, Type: typeInvitation, ID: id, Email: addr, AccountIDs: targets, Roles: ic.roles,
		Message: cmd.Message, InviterID: ic.inviter.ID, InviterName: ic.inviter.Name(), InviterEmail: ic.inviter.Email, InviterSupport: ic.grants.supportIn(targets),
		Status: StatusPending, TokenHash: ids.Hash(token), ExpiresAt: exp.Unix(), SentAt: now.Unix(), Sends: 1,
		Delivery: delivery, Version: 1, CreatedAt: now, UpdatedAt: now, GSI3PK: due.PK, GSI3SK: due.SK, Licence: ic.licence}
	seatWrites, reserved := reservations(t, ic.seats, targets, ic.settings.PurchaseURL)
	inv.Reserved = reserved
	writes := []*store.Write{store.Put(inv).If(store.NotExists())}
	writes = append(writes, seatWrites...)
	for _, a := range targets {
		writes = append(writes,
			store.Put(newAccountEntry(t, inv, a)).If(store.NotExists()),
			store.Put(newGuard(t, a, addr, id)).If(store.NotExists()).OrFail(ErrAlreadyInvited),
			changelog.New(t, s.IDs.NewID(), now, a, changelog.ActorOf(cmd.Caller), "invitation.created", changeLogSubjectInv, id, nil,
				map[string]any{"email": addr, "roles": ic.roles, "accountIds": targets, "sendEmail": cmd.SendEmail, "licence": ic.licence,
					"seatReserved": slices.Contains(reserved, a)}).Write())
	}
	writes = append(writes, ic.grants.checks(targets)...)
	writes = append(writes, accounts.OpenEach(t, targets...)...)
	writes = append(writes, suppression.NotSuppressed(t, addr))
	if err := s.Store.Transact(ctx, "create invitation "+id, writes...); err != nil {
		return Invitation{}, "", err
	}
	return inv, token, nil
}

// loadInviteContext reads, in one batch, the tenant settings, the inviter
// and the target accounts, and resolves the roles (the tenant's default
// when none are given). Whether the roles exist, and whether the inviter
// may grant them, is requireGrants' decision.
func (s *Service) loadInviteContext(ctx context.Context, t table.Tenant, inviterID string, accountIDs, roles []string) (inviteContext, error) {
	keys := []table.Key{t.Settings(), t.User(inviterID)}
	for _, a := range accountIDs {
		keys = append(keys, t.Account(a))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return inviteContext{}, fmt.Errorf("load invitation context: %w", err)
	}
	var ic inviteContext
	if err := decodeItem(items, t.Settings(), &ic.settings); err != nil {
		return inviteContext{}, err
	}
	if err := decodeItem(items, t.User(inviterID), &ic.inviter); err != nil {
		return inviteContext{}, err
	}
	ic.accounts = map[string]accounts.Account{}
	for _, a := range accountIDs {
		var acc accounts.Account
		if err := decodeItem(items, t.Account(a), &acc); err != nil {
			return inviteContext{}, err
		}
		if acc.Status != accounts.StatusActive {
			return inviteContext{}, ErrAccountClosed.Withf("account %s is closed", a)
		}
		ic.accounts[a] = acc
	}
	ic.roles = roles
	if len(ic.roles) == 0 {
		def := ic.settings.DefaultRole
		if def == "" {
			def = tenancy.DefaultRole
		}
		ic.roles = []string{def}
	}
	return ic, nil
}

// defaultRoleRefused explains a grant refused for the tenant's default role,
// offered because the request named no role: the caller must name a role
// they can grant. Same code (403 grant_exceeds_rights), its own detail, and
// defaultRole beside role.
func defaultRoleRefused(err error, defaultRole string) error {
	e, ok := apperr.As(err)
	if !ok || !errors.Is(e, access.ErrGrantExceeds) {
		return err
	}
	out := e.Withf("no role was named, so the invitation would offer the tenant's default role, %s, which you cannot grant (%s): "+
		"name in roles a role you can grant", defaultRole, e.Detail).With("defaultRole", defaultRole)
	out.Err = err
	return out
}

func decodeItem(items map[table.Key]map[string]types.AttributeValue, k table.Key, out any) error {
	item, ok := items[k]
	if !ok {
		return apperr.ErrNotFound.Withf("%s not found", strings.ToLower(k.SK))
	}
	if err := attributevalue.UnmarshalMap(item, out); err != nil {
		return apperr.Internal("decode "+k.SK, err)
	}
	return nil
}

// invitees is what the table says about a request's addresses.
type invitees struct {
	member     map[string]map[string]bool   // email -> account -> a member already
	pending    map[string]map[string]string // email -> account -> pending invitation id
	suppressed map[string]suppression.Entry // email -> its suppression
}

// lookupInvitees finds, with batched reads, which addresses already belong
// to a user who is a member of a target account, and which have a pending
// invitation there. It only decides what to report: the guard put with
// attribute_not_exists is what keeps one pending invitation per address.
func (s *Service) lookupInvitees(ctx context.Context, t table.Tenant, emails, accountIDs []string) (invitees, error) {
	out := invitees{member: map[string]map[string]bool{}, pending: map[string]map[string]string{}, suppressed: map[string]suppression.Entry{}}
	var keys []table.Key
	for _, e := range emails {
		keys = append(keys, t.EmailClaim(e), t.Suppression(e))
		for _, a := range accountIDs {
			keys = append(keys, t.PendingInvitation(a, e))
		}
	}
	items, err := s.getAll(ctx, keys)
	if err != nil {
		return invitees{}, fmt.Errorf("look up invitees: %w", err)
	}
	users := map[string]string{} // email -> user id
	var memberKeys []table.Key
	for _, e := range emails {
		out.member[e], out.pending[e] = map[string]bool{}, map[string]string{}
		if it, ok := items[t.Suppression(e)]; ok {
			var se suppression.Entry
			if err := attributevalue.UnmarshalMap(it, &se); err != nil {
				return invitees{}, apperr.Internal("decode suppression", err)
			}
			out.suppressed[e] = se
		}
		for _, a := range accountIDs {
			if it, ok := items[t.PendingInvitation(a, e)]; ok {
				var g pendingGuard
				if err := attributevalue.UnmarshalMap(it, &g); err != nil {
					return invitees{}, apperr.Internal("decode pending invitation", err)
				}
				out.pending[e][a] = g.InvitationID
			}
		}
		if it, ok := items[t.EmailClaim(e)]; ok {
			var c identity.EmailClaim
			if err := attributevalue.UnmarshalMap(it, &c); err != nil {
				return invitees{}, apperr.Internal("decode email claim", err)
			}
			users[e] = c.UserID
			for _, a := range accountIDs {
				memberKeys = append(memberKeys, t.Membership(a, c.UserID))
			}
		}
	}
	if len(memberKeys) == 0 {
		return out, nil
	}
	members, err := s.getAll(ctx, memberKeys)
	if err != nil {
		return invitees{}, fmt.Errorf("look up memberships: %w", err)
	}
	for e, u := range users {
		for _, a := range accountIDs {
			if _, ok := members[t.Membership(a, u)]; ok {
				out.member[e][a] = true
			}
		}
	}
	return out, nil
}

// getAll is GetMany over any number of keys, 100 per BatchGetItem.
func (s *Service) getAll(ctx context.Context, keys []table.Key) (map[table.Key]map[string]types.AttributeValue, error) {
	out := make(map[table.Key]map[string]types.AttributeValue, len(keys))
	for start := 0; start < len(keys); start += 100 {
		part, err := s.Store.GetMany(ctx, keys[start:min(start+100, len(keys))])
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			out[k] = v
		}
	}
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
