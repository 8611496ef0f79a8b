// Package invitations offers membership of accounts to email addresses: an
// admin invites, the invitee gets an email with a single-use link, opens it
// (GET never changes anything), and accepts; unanswered invitations expire
// seven days after they were last sent.
//
// An invitation grants roles, so nobody climbs through one (authority.go):
// the inviter must hold users.invite in every target account and may offer
// only roles within their own rights there (Admin only as an Admin, or as
// support staff switched into the account); operators invite only while
// switched into the account, and are logged as support. The invitation
// carries its inviter's authority: the accept decides again whether the
// inviter (or whoever resent it last) may still grant it, and refuses with
// 410 inviter_cannot_grant, changing nothing, when they were deleted,
// suspended, demoted or are no longer support staff.
//
// Every invariant is a condition inside a DynamoDB transaction, never a
// read-then-write:
//   - at most one pending invitation per email and account: a guard item
//     (table.PendingInvitation) put with attribute_not_exists, deleted in the
//     transaction that moves the invitation out of "pending";
//   - an invitation is accepted at most once and never after expiry: the
//     accept transaction requires status "pending", the same token hash and
//     expiresAt > now, and creates the user, memberships, change-log entries
//     and the new session in the same TransactWriteItems;
//   - nothing is granted above the grantor's rights: the transaction that
//     sends, resends or accepts holds the checks of the grant decision (the
//     inviter's membership and the roles at the versions read, the inviter
//     still active, still an operator for support), so an inviter demoted at
//     the same moment makes it fail rather than grant;
//   - the expiry job, a resend and a revoke each condition on the state they
//     read, so racing with an accept or with each other changes an invitation
//     at most once.
//
// Items: the invitation itself (table.Invitation) is the source of truth;
// each target account holds an index entry (table.AccountInvitation) whose
// GSI1 key lists the account's invitations by status; pending invitations
// carry the sparse GSI3 due key the expiry job reads, and their account
// entries the users list's keys (GSI2 by email, GSI4 by name), removed in
// the write that accepts, revokes or expires them (moveEntry).
package invitations

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Invitation statuses.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusExpired  = "expired"
	StatusRevoked  = "revoked"
)

// Statuses lists them, as the list endpoint accepts them.
var Statuses = []string{StatusPending, StatusAccepted, StatusExpired, StatusRevoked}

// Delivery states of the invitation email.
const (
	DeliveryNotRequested = "not_requested" // sendEmail was false: the admin hands the link over
	DeliverySending      = "sending"       // committed, the email is on its way
	DeliverySent         = "sent"          // SES accepted it
	DeliveryFailed       = "failed"        // SES refused or kept failing; see deliveryError, resend
	// What SES reported after it took the message (functions/ses-events,
	// RecordOutcome); deliveryError then holds SES's reason (the bounce
	// subtype, the complaint's feedback type, the delay type, the reject
	// reason).
	DeliveryDelayed          = "delayed"           // SES is still trying (a delivery delay)
	DeliveryBouncedTransient = "bounced_transient" // the mailbox refused it for now (full, auto-reply): not suppressed, resend later
	DeliveryRejected         = "rejected"          // SES refused to send it after taking it (e.g. a virus)
	DeliveryBounced          = "bounced"           // a permanent bounce: the address is suppressed
	DeliveryComplained       = "complained"        // the recipient marked it as spam: the address is suppressed
)

// Bounds of an invitation request.
const (
	ValidFor            = 7 * 24 * time.Hour // from the last send
	MaxEmails           = 100                // per request
	MaxAccounts         = 10                 // target accounts per invitation (keeps accept inside one transaction)
	MaxRoles            = 10
	MaxMessageRunes     = 1000
	maxReplacedLinks    = 5 // old links remembered to say "replaced" rather than "unknown"
	changeLogSubjectInv = "invitation"
)

// Invitation is the invitation item.
type Invitation struct {
	PK         string   `dynamodbav:"PK"`
	SK         string   `dynamodbav:"SK"`
	Type       string   `dynamodbav:"type"`
	ID         string   `dynamodbav:"id"`
	Email      string   `dynamodbav:"email"`
	AccountIDs []string `dynamodbav:"accountIds"` // the first is the account it was sent from
	Roles      []string `dynamodbav:"roles"`
	// Licence is the licence type the invitee gets in every account of
	// the invitation; "" on invitations made before it was recorded (the
	// tenant's default licence then).
	Licence string `dynamodbav:"licence,omitempty"`
	// Reserved lists the accounts where the invitation holds a seat of its
	// licence (seats.go) while it is pending: accepting converts them,
	// revoking and expiring release them, in the write that changes the status.
	Reserved     []string `dynamodbav:"reserved,stringset,omitempty"`
	Message      string   `dynamodbav:"message,omitempty"`
	InviterID    string   `dynamodbav:"inviterId"`
	InviterName  string   `dynamodbav:"inviterName,omitempty"`
	InviterEmail string   `dynamodbav:"inviterEmail,omitempty"`
	// InviterSupport lists the target accounts where the inviter acted as
	// support (a tenant operator switched into the account with a reason):
	// there the accept re-checks them as support staff, elsewhere by their
	// membership. The inviter is whoever sent the current link (a resend
	// makes the resender the inviter).
	InviterSupport []string `dynamodbav:"inviterSupport,stringset,omitempty"`
	Status         string   `dynamodbav:"status"`
	// TokenHash is the SHA-256 of the current link's token; the token itself
	// is never stored. It is kept after the invitation is used, revoked or
	// expired so that an old link is told what happened instead of "unknown".
	TokenHash     string   `dynamodbav:"tokenHash"`
	ReplacedLinks []string `dynamodbav:"replacedLinks,omitempty"` // hashes of links a resend replaced
	ExpiresAt     int64    `dynamodbav:"expiresAt"`               // epoch seconds; the accept path enforces it
	SentAt        int64    `dynamodbav:"sentAt"`                  // epoch seconds of the last (re)send
	Sends         int      `dynamodbav:"sends"`
	Delivery      string   `dynamodbav:"delivery"`
	DeliveryError string   `dynamodbav:"deliveryError,omitempty"`
	// MessageID is SES's id of the email of the current link, recorded
	// with its delivery; a resend clears it. SES's notifications name it,
	// so an outcome of an older email never lands on a newer resend.
	MessageID  string    `dynamodbav:"messageId,omitempty"`
	ResentBy   string    `dynamodbav:"resentBy,omitempty"`
	AcceptedBy string    `dynamodbav:"acceptedBy,omitempty"` // the user who joined
	AcceptedAt int64     `dynamodbav:"acceptedAt,omitempty"`
	RevokedBy  string    `dynamodbav:"revokedBy,omitempty"`
	RevokedAt  int64     `dynamodbav:"revokedAt,omitempty"`
	ExpiredAt  int64     `dynamodbav:"expiredAt,omitempty"` // when the job marked it
	Version    int64     `dynamodbav:"version"`
	CreatedAt  time.Time `dynamodbav:"createdAt"`
	UpdatedAt  time.Time `dynamodbav:"updatedAt"`
	GSI3PK     string    `dynamodbav:"GSI3PK,omitempty"` // only while pending
	GSI3SK     string    `dynamodbav:"GSI3SK,omitempty"`
}

// InvitedAsSupport reports whether the inviter acted as support in
// accountID.
func (inv Invitation) InvitedAsSupport(accountID string) bool {
	return slices.Contains(inv.InviterSupport, accountID)
}

// Expiry is when the invitation stops working.
func (inv Invitation) Expiry() time.Time { return time.Unix(inv.ExpiresAt, 0).UTC() }

// AccountEntry is an invitation seen from one target account: the index
// entry that lists an account's invitations by status (GSI1). The invitation
// item stays the source of truth; lists read it back. While the invitation
// is pending the entry also sits among the account's users, by email (GSI2)
// and by name (GSI4, after the named members), with the roles offered, so
// that the users list shows members and pending invitations in one Query;
// every write that moves it out of pending removes those keys (moveEntry).
type AccountEntry struct {
	PK           string   `dynamodbav:"PK"`
	SK           string   `dynamodbav:"SK"`
	Type         string   `dynamodbav:"type"`
	InvitationID string   `dynamodbav:"invitationId"`
	AccountID    string   `dynamodbav:"accountId"`
	Email        string   `dynamodbav:"email"`
	Roles        []string `dynamodbav:"roles"`
	Status       string   `dynamodbav:"status"`
	ExpiresAt    int64    `dynamodbav:"expiresAt"`
	CreatedAt    int64    `dynamodbav:"createdAt"`
	GSI1PK       string   `dynamodbav:"GSI1PK"`
	GSI1SK       string   `dynamodbav:"GSI1SK"`
	GSI2PK       string   `dynamodbav:"GSI2PK,omitempty"` // only while pending
	GSI2SK       string   `dynamodbav:"GSI2SK,omitempty"`
	GSI4PK       string   `dynamodbav:"GSI4PK,omitempty"`
	GSI4SK       string   `dynamodbav:"GSI4SK,omitempty"`
}

// pendingGuard reserves "one pending invitation for this email in this
// account". Put with attribute_not_exists when inviting; deleted in the
// transaction that moves the invitation out of pending. While the
// invitation is pending the guard is its own, so those deletes need no
// condition beyond the invitation's.
type pendingGuard struct {
	PK           string `dynamodbav:"PK"`
	SK           string `dynamodbav:"SK"`
	Type         string `dynamodbav:"type"`
	InvitationID string `dynamodbav:"invitationId"`
	Email        string `dynamodbav:"email"`
}

// Item types.
const (
	typeInvitation   = "INVITATION"
	typeAccountEntry = "ACCOUNT_INVITATION"
	typeGuard        = "PENDING_INVITATION"
)

func newAccountEntry(t table.Tenant, inv Invitation, accountID string) AccountEntry {
	k := t.AccountInvitation(accountID, inv.ID)
	ix := t.AccountInvitationsByStatus(accountID, inv.Status, inv.ID)
	e := AccountEntry{PK: k.PK, SK: k.SK, Type: typeAccountEntry, InvitationID: inv.ID, AccountID: accountID, Email: inv.Email,
		Roles: inv.Roles, Status: inv.Status, ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt.Unix(), GSI1PK: ix.PK, GSI1SK: ix.SK}
	if inv.Status == StatusPending {
		byEmail, byName := usersListKeys(t, accountID, inv)
		e.GSI2PK, e.GSI2SK, e.GSI4PK, e.GSI4SK = byEmail.PK, byEmail.SK, byName.PK, byName.SK
	}
	return e
}

// usersListKeys are the keys that show a pending invitation in an account's
// users list: by email (table.AccountInvitationByEmail) and, having no
// name, by email after the named members (table.AccountMembersByName).
func usersListKeys(t table.Tenant, accountID string, inv Invitation) (byEmail, byName table.IndexKey) {
	return t.AccountInvitationByEmail(accountID, inv.Email, inv.ID), t.AccountMembersByName(accountID, "", inv.Email, "INVITE#"+inv.ID)
}

// TypeAccountEntry is the item type of an invitation's account entry, as
// the users list (shared/directory) tells its rows apart.
const TypeAccountEntry = typeAccountEntry

// UnexpiredAt holds for an account entry whose invitation has not expired
// at now: the users list never shows one past its expiry, which the expiry
// job may not have marked yet.
func UnexpiredAt(now time.Time) expression.ConditionBuilder {
	return expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix()))
}

func newGuard(t table.Tenant, accountID, emailAddr, invitationID string) pendingGuard {
	k := t.PendingInvitation(accountID, emailAddr)
	return pendingGuard{PK: k.PK, SK: k.SK, Type: typeGuard, InvitationID: invitationID, Email: emailAddr}
}

// Tokens. The link carries "<tenant>.<invitation id>.<secret>": the tenant
// and the id are not secret and let the accept path GetItem the invitation
// by key; the secret is 256 bits from crypto/rand. Only the SHA-256 of the
// whole token is stored, and compared in constant time.

func newToken(t table.Tenant, invitationID string) string {
	return t.ID() + "." + invitationID + "." + ids.NewSecret()
}

// ParseToken reads the tenant and the invitation id out of a link's token.
// A token of the wrong shape is answered like an unknown one.
func ParseToken(raw string) (table.Tenant, string, error) {
	raw = strings.TrimSpace(raw)
	if len(raw) > 160 {
		return table.Tenant{}, "", ErrNotFound
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || !ids.Valid(parts[1]) || len(parts[2]) != 43 {
		return table.Tenant{}, "", ErrNotFound
	}
	t, err := table.ForTenant(parts[0])
	if err != nil {
		return table.Tenant{}, "", ErrNotFound
	}
	return t, parts[1], nil
}

// sameHash compares a token with a stored hash in constant time.
func sameHash(token, storedHash string) bool {
	return subtle.ConstantTimeCompare([]byte(ids.Hash(token)), []byte(storedHash)) == 1
}

// Errors of this package, with stable codes.
var (
	ErrNotFound = apperr.New(apperr.KindNotFound, "invitation_not_found",
		"this invitation link is not valid: check that you copied the whole link, or ask for a new invitation")
	ErrAccepted = apperr.New(apperr.KindGone, "invitation_already_accepted",
		"this invitation was already accepted; sign in instead")
	ErrRevoked = apperr.New(apperr.KindGone, "invitation_revoked",
		"this invitation was withdrawn; ask the person who invited you for a new one")
	ErrExpired = apperr.New(apperr.KindGone, "invitation_expired",
		"this invitation has expired; ask the person who invited you to send a new one")
	ErrReplaced = apperr.New(apperr.KindGone, "invitation_link_replaced",
		"this link was replaced by a newer invitation email; use the link in the most recent one")
	ErrForAnotherUser = apperr.New(apperr.KindForbidden, "invitation_for_another_user",
		"you are signed in as someone else than the person this invitation is for; sign out and sign in as the invited address")
	// ErrSignInToAccept: the address has an account, and its owner accepts
	// in their own session (Authorization: Bearer, from POST /auth/sign-in,
	// which is throttled). The accept takes no password for it: one in the
	// body, or none and no session, is refused and nothing counts.
	ErrSignInToAccept = apperr.New(apperr.KindUnprocessable, "sign_in_to_accept",
		"this address already has an account: sign in with it and accept")
	ErrAccountExists = apperr.New(apperr.KindConflict, "account_exists",
		"an account with this email address exists already: sign in with it and accept instead of creating a new one")
	ErrAlreadyMember = apperr.New(apperr.KindConflict, "already_member",
		"you are already a member of this account")
	ErrNotPending = apperr.New(apperr.KindConflict, "invitation_not_pending",
		"this invitation is no longer pending")
	ErrAlreadyInvited = apperr.New(apperr.KindConflict, "already_invited",
		"this email address has a pending invitation to this account already")
	ErrRateLimited = apperr.New(apperr.KindRateLimited, "invitation_rate_limited",
		"too many invitations were sent this hour; try again later")
	ErrAccountClosed = apperr.New(apperr.KindConflict, "account_closed",
		"an account of this invitation is closed")

	// errChanged: the invitation was not in the state the write expected;
	// the caller re-reads it to say what happened.
	errChanged = apperr.New(apperr.KindConflict, "invitation_changed", "the invitation changed meanwhile; reload and try again")
)

// Mailer sends one email; *sesmail.Sender is one.
type Mailer interface {
	Send(ctx context.Context, m email.Message) (string, error)
}

// Limits are the anti-spam bounds on sending invitations (each send and
// resend counts), per fixed UTC hour.
type Limits struct {
	PerInviterPerHour int // by one user, across accounts
	PerAccountPerHour int // to one account, by anyone
}

// DefaultLimits allow a few full bulk invitations an hour and stop a
// compromised admin from mailing thousands of addresses.
var DefaultLimits = Limits{PerInviterPerHour: 300, PerAccountPerHour: 500}

// Service runs the invitation use cases.
type Service struct {
	Store  *store.Store
	Clock  clock.Clock
	IDs    ids.Generator
	Access access.Checker
	Auth   *auth.Service
	Mail   Mailer
	// AcceptURL is the accept page, e.g. https://api.example.com/invitations/accept;
	// the link in an email is AcceptURL?token=...
	AcceptURL string
	Limits    Limits
	// ReplyToInviter sets an invitation email's Reply-To to its inviter's
	// address (REPLY_TO_INVITER), read from the invitation itself.
	ReplyToInviter bool
	Workers        int // invitations created and emailed in parallel (default 8)
	Log            *slog.Logger
}

// New builds the service from a function's dependencies.
func New(d service.Deps) *Service {
	base := strings.TrimRight(d.BaseURL, "/")
	return &Service{
		Store:     d.Store,
		Clock:     d.Clock,
		IDs:       d.IDs,
		Access:    access.Checker{Store: d.Store},
		Auth:      &auth.Service{Store: d.Store, Clock: d.Clock, IDs: d.IDs},
		Mail:      d.Mail,
		AcceptURL: base + "/invitations/accept",
		Limits:    DefaultLimits,
		Log:       d.Log,

		ReplyToInviter: d.ReplyToInviter,
	}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Service) workers() int {
	if s.Workers > 0 {
		return s.Workers
	}
	return 8
}

// link is the accept page's address for token.
func (s *Service) link(token string) string {
	return s.AcceptURL + "?token=" + url.QueryEscape(token)
}
