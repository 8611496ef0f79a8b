package invitations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/auth"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/licences"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/tenancy"
)

// AccountRef names an account on the accept page.
type AccountRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// Offer is what the accept page shows about a usable invitation.
type Offer struct {
	InvitationID string       `json:"invitationId"`
	Email        string       `json:"email"`
	Inviter      Person       `json:"inviter"`
	Product      string       `json:"product"`
	Accounts     []AccountRef `json:"accounts"`
	Roles        []string     `json:"roles"`
	Message      string       `json:"message,omitempty"`
	ExpiresAt    time.Time    `json:"expiresAt"`
	// TimeZone is the tenant's, in which the page shows dates (the invitee
	// has no setting of their own yet).
	TimeZone string `json:"timeZone"`
	// ExistingUser: the address has an account already, so its owner signs
	// in and accepts in that session instead of choosing a password. The
	// page needs it to show the right form; the JSON view shows it only to
	// the invitee's own session (see MarshalJSON).
	ExistingUser bool `json:"-"`
	// SignedIn: the request carried a session of the invited user.
	SignedIn       bool                    `json:"signedIn"`
	PasswordPolicy identity.PasswordPolicy `json:"passwordPolicy"`
}

// MarshalJSON is the JSON view of an offer: existingUser is there only for
// the invitee's own session, so holding the link does not tell whether the
// address has an account.
func (o Offer) MarshalJSON() ([]byte, error) {
	type fields Offer // without this method
	v := struct {
		fields
		ExistingUser *bool `json:"existingUser,omitempty"`
	}{fields: fields(o)}
	if o.SignedIn {
		v.ExistingUser = &o.ExistingUser
	}
	return json.Marshal(v)
}

// Open reads the invitation a link opens, for the accept page. It never
// changes anything: mail scanners fetch links before people do. session is
// a bearer token sent along, if any: someone signed in as another user gets
// ErrForAnotherUser and the invitation stays usable. An invitation whose
// inviter can no longer grant it is ErrInviterCannotGrant, as its accept
// would be.
func (s *Service) Open(ctx context.Context, token, session string) (Offer, error) {
	t, id, err := ParseToken(token)
	if err != nil {
		return Offer{}, err
	}
	now := s.Clock.Now()
	inv, err := s.get(ctx, t, id)
	if err != nil {
		return Offer{}, err
	}
	if err := s.usableForInvitee(ctx, t, inv, token, now); err != nil {
		return Offer{}, err
	}
	keys := []table.Key{t.Settings(), t.EmailClaim(inv.Email)}
	for _, a := range inv.AccountIDs {
		keys = append(keys, t.Account(a))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return Offer{}, fmt.Errorf("open invitation %s: %w", id, err)
	}
	var settings tenancy.Settings
	if err := decodeItem(items, t.Settings(), &settings); err != nil {
		return Offer{}, err
	}
	offer := Offer{InvitationID: inv.ID, Email: inv.Email, Inviter: inviterOf(inv), Product: settings.Name, Roles: inv.Roles,
		Message: inv.Message, ExpiresAt: inv.Expiry(), TimeZone: settings.Zone(), PasswordPolicy: settings.PasswordPolicy}
	names := map[string]string{}
	for _, a := range inv.AccountIDs {
		ref := AccountRef{ID: a, Name: a}
		var acc accounts.Account
		if it, ok := items[t.Account(a)]; ok && attributevalue.UnmarshalMap(it, &acc) == nil && acc.Name != "" {
			ref.Name = acc.Name
		}
		names[a] = ref.Name
		offer.Accounts = append(offer.Accounts, ref)
	}
	// Offer nothing the accept would refuse: an inviter who can no longer
	// grant this access is said so here already.
	if _, err := s.inviterGrants(ctx, t, inv, names); err != nil {
		return Offer{}, err
	}
	_, offer.ExistingUser = items[t.EmailClaim(inv.Email)]
	me, signedIn, err := s.signedInAs(ctx, t, session)
	if err != nil {
		return Offer{}, err
	}
	if signedIn {
		if me.Email != inv.Email {
			return Offer{}, otherUser(inv, me)
		}
		offer.SignedIn = true
	}
	return offer, nil
}

// AcceptRequest is the body of POST /invitations/accept. A new user gives
// their name and a password; someone whose email already has an account
// gives only the token and sends the request signed in as that account
// (Authorization: Bearer): a password for an existing account is refused
// (ErrSignInToAccept), never checked.
type AcceptRequest struct {
	Token     string `json:"token"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Password  string `json:"password,omitempty"`
}

// Accept is a validated accept request.
type Accept struct {
	Token     string
	FirstName string
	LastName  string
	Password  string // a new user's chosen password; never an existing one's
	Session   string // a bearer token sent along, if any
	IP        string
	UserAgent string
}

// MaxNameRunes bounds first and last names.
const MaxNameRunes = 100

// Command checks the request's shape; what a new user must give is checked
// once the invitation says whether the address has an account.
func (r AcceptRequest) Command(session, ip, userAgent string) (Accept, error) {
	var f apperr.Fields
	tok := strings.TrimSpace(r.Token)
	f.Check(tok != "", "token", "required", "the token from the invitation link is required")
	f.Check(len(tok) <= 160, "token", "invalid", "this is not an invitation token")
	first, last := strings.TrimSpace(r.FirstName), strings.TrimSpace(r.LastName)
	f.Check(validName(first), "firstName", "invalid_name", fmt.Sprintf("a name has at most %d characters and no control characters", MaxNameRunes))
	f.Check(validName(last), "lastName", "invalid_name", fmt.Sprintf("a name has at most %d characters and no control characters", MaxNameRunes))
	f.Check(len(r.Password) <= identity.MaxPasswordLength, "password", "password_too_long",
		fmt.Sprintf("the password may have at most %d bytes", identity.MaxPasswordLength))
	if err := f.Err(); err != nil {
		return Accept{}, err
	}
	return Accept{Token: tok, FirstName: first, LastName: last, Password: r.Password, Session: session, IP: ip, UserAgent: userAgent}, nil
}

func validName(s string) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxNameRunes {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Accepted is the outcome of an accept: the new session (its token is seen
// only here) and what was joined.
type Accepted struct {
	auth.Signed
	InvitationID string   `json:"invitationId"`
	AccountIDs   []string `json:"joinedAccountIds"`
	NewUser      bool     `json:"newUser"`
}

// Accept uses the invitation. Its inviter must still be allowed to grant its
// roles in each account (see inviterGrants), else it answers 410
// inviter_cannot_grant and changes nothing. Then in ONE transaction the
// invitation moves from
// pending to accepted (only if it is still pending, still has this token's
// hash and has not expired — so of racing accepts exactly one wins, and an
// invitation past its expiry is refused even before the expiry job ran), its
// due key and pending guards go, its index entries move to "accepted", the
// user is created (with the email claim, so an address is one user) or the
// existing user, who must be the one signed in (see existingInvitee), is
// checked unchanged, the memberships are put if they do not exist,
// change-log entries are written, a session signs the user in, and the
// inviter's rights are checked at the versions the decision read (an inviter
// demoted at the same moment makes it fail, and the decision is made again).
func (s *Service) Accept(ctx context.Context, cmd Accept) (Accepted, error) {
	t, id, err := ParseToken(cmd.Token)
	if err != nil {
		return Accepted{}, err
	}
	now := s.Clock.Now()
	inv, err := s.get(ctx, t, id)
	if err != nil {
		return Accepted{}, err
	}
	if err := s.usableForInvitee(ctx, t, inv, cmd.Token, now); err != nil {
		return Accepted{}, err
	}
	keys := []table.Key{t.Settings(), t.EmailClaim(inv.Email)}
	for _, a := range inv.AccountIDs {
		keys = append(keys, t.Account(a))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return Accepted{}, fmt.Errorf("accept invitation %s: %w", id, err)
	}
	var settings tenancy.Settings
	if err := decodeItem(items, t.Settings(), &settings); err != nil {
		return Accepted{}, err
	}
	names := map[string]string{}
	accs := map[string]accounts.Account{}
	for _, a := range inv.AccountIDs {
		var acc accounts.Account
		if err := decodeItem(items, t.Account(a), &acc); err != nil {
			return Accepted{}, err
		}
		accs[a] = acc
		if acc.Status != accounts.StatusActive {
			return Accepted{}, ErrAccountClosed.Withf("account %s of this invitation is closed; ask %s", acc.Name, askWhom(inv))
		}
		names[a] = acc.Name
	}
	// The invitation carries its inviter's authority: they must still be
	// allowed to grant its roles, else nothing changes (410).
	gs, err := s.inviterGrants(ctx, t, inv, names)
	if err != nil {
		return Accepted{}, err
	}
	me, signedIn, err := s.signedInAs(ctx, t, cmd.Session)
	if err != nil {
		return Accepted{}, err
	}
	if signedIn && me.Email != inv.Email {
		return Accepted{}, otherUser(inv, me)
	}

	var user identity.User
	claimItem, exists := items[t.EmailClaim(inv.Email)]
	already := map[string]bool{} // accounts the existing user belongs to already
	if exists {
		var claim identity.EmailClaim
		if err := attributevalue.UnmarshalMap(claimItem, &claim); err != nil {
			return Accepted{}, apperr.Internal("decode email claim", err)
		}
		user, already, err = s.existingInvitee(ctx, t, inv, claim.UserID, cmd, me, signedIn)
		if err != nil {
			// The account may be the one a racing accept of this very
			// invitation just created: then that is the news.
			return Accepted{}, s.unlessUsedMeanwhile(ctx, t, inv.ID, cmd.Token, err)
		}
	} else {
		var f apperr.Fields
		f.Check(cmd.FirstName != "", "firstName", "required", "your first name is required")
		f.Check(cmd.LastName != "", "lastName", "required", "your last name is required")
		if cmd.Password == "" {
			f.Add("password", "required", "choose a password")
		} else if err := settings.PasswordPolicy.Check("password", cmd.Password, inv.Email); err != nil {
			if len(f) == 0 {
				return Accepted{}, err // only the password: its detail says what is missing
			}
			if e, ok := apperr.As(err); ok {
				f = append(f, e.Fields...)
			}
		}
		if err := f.Err(); err != nil {
			return Accepted{}, err
		}
		hash, err := identity.HashPassword(cmd.Password)
		if err != nil {
			return Accepted{}, apperr.Internal("hash password", err)
		}
		user = identity.NewUser(t, identity.User{ID: s.IDs.NewID(), Email: inv.Email, FirstName: cmd.FirstName, LastName: cmd.LastName,
			PasswordHash: hash, Status: identity.UserActive, HomeAccountID: inv.AccountIDs[0], CreatedAt: now, UpdatedAt: now})
	}

	// Licences: the new membership gets the invitation's licence (the
	// tenant's default for invitations made before they named one) so the
	// invited user can sign in. Where the invitation reserved a seat, the
	// accept converts it into a used one (or releases it where the invitee
	// is a member already): it never fails for seats. An account where
	// nothing was reserved (the licence was unmetered there when the
	// invitation was sent) takes a seat now if the account has seats of it
	// since; else the transaction checks the pool is still absent, so a
	// pool created meanwhile is never bypassed.
	licence := licenceOf(inv, settings)
	var unreserved []string
	for _, a := range inv.AccountIDs {
		if !slices.Contains(inv.Reserved, a) {
			unreserved = append(unreserved, a)
		}
	}
	seats, err := s.seatsFor(ctx, t, settings, accs, unreserved, licence)
	if err != nil {
		return Accepted{}, fmt.Errorf("accept invitation %s: %w", id, err)
	}
	writes := []*store.Write{
		store.Update(t.Invitation(inv.ID), store.BumpVersion().
			Set(expression.Name("status"), expression.Value(StatusAccepted)).
			Set(expression.Name("acceptedAt"), expression.Value(now.Unix())).
			Set(expression.Name("acceptedBy"), expression.Value(user.ID)).
			Set(expression.Name("updatedAt"), expression.Value(now)).
			Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK)).Remove(expression.Name("reserved"))).
			If(store.Is("status", StatusPending).
				And(store.Is("tokenHash", inv.TokenHash)).
				And(expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix())))).
			OrFail(errChanged),
	}
	if exists {
		writes = append(writes,
			// The new memberships copy the user's email and names: a
			// profile edit racing with this accept either commits first
			// (and this fails) or copies again (identity.MembershipCopy).
			// The session epoch read must hold too: a password change or
			// suspension meanwhile refuses the accept.
			identity.MembershipCopy(t, user).OrFail(errUserChanged),
			identity.AtEpoch(t, user.ID, user.SessionEpoch).OrFail(errUserChanged),
			identity.EmailStillClaimed(t, inv.Email, user.ID).OrFail(errUserChanged))
	} else {
		writes = append(writes,
			store.Put(user).If(store.NotExists()),
			store.Put(identity.NewEmailClaim(t, inv.Email, user.ID)).If(store.NotExists()).OrFail(ErrAccountExists))
	}
	var joined []string
	actor := changelog.Actor{Kind: changelog.ActorUser, ID: user.ID, Name: user.Name(), Email: user.Email}
	for _, a := range inv.AccountIDs {
		writes = append(writes,
			moveEntry(t, inv, a, StatusAccepted),
			store.Delete(t.PendingInvitation(a, inv.Email)),
			accounts.Open(t, a))
		if !already[a] {
			joined = append(joined, a)
			m := accounts.NewMembership(t, accounts.Membership{AccountID: a, UserID: user.ID, Email: user.Email, Roles: inv.Roles,
				FirstName: user.FirstName, LastName: user.LastName, Licence: licence, External: user.HomeAccountID != "" && user.HomeAccountID != a, CreatedAt: now, UpdatedAt: now})
			writes = append(writes, store.Put(m).If(store.NotExists()).OrFail(ErrAlreadyMember))
			if slices.Contains(inv.Reserved, a) {
				writes = append(writes, licences.Convert(t, a, licence))
			} else {
				writes = append(writes, seats[a].Take(t, settings.PurchaseURL))
			}
		} else if slices.Contains(inv.Reserved, a) {
			writes = append(writes, licences.Unreserve(t, a, licence))
		}
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, a, actor, "invitation.accepted", "user", user.ID, nil,
			map[string]any{"invitationId": inv.ID, "email": inv.Email, "roles": inv.Roles, "licence": licence,
				"newUser": !exists, "joined": !already[a], "invitedBy": inv.InviterID, "invitedAsSupport": inv.InvitedAsSupport(a)}).Write())
	}
	signed, sessionWrites := s.Auth.NewSession(t, user, inv.AccountIDs[0], settings.SessionTTL(), cmd.IP, cmd.UserAgent)
	writes = append(writes, sessionWrites...)
	writes = append(writes, gs.checks(inv.AccountIDs)...)
	if err := s.Store.Transact(ctx, "accept invitation "+inv.ID, writes...); err != nil {
		if grantorChanged(err) {
			// The inviter's rights changed at this very moment: decide
			// again, and say so when they no longer hold them.
			if _, gerr := s.inviterGrants(ctx, t, inv, names); gerr != nil {
				return Accepted{}, gerr
			}
			return Accepted{}, access.ErrGrantorChanged.Withf("the rights of the person who invited you changed while you accepted; try again")
		}
		return Accepted{}, s.explain(ctx, t, inv.ID, cmd.Token, err)
	}
	if joined == nil {
		joined = []string{}
	}
	return Accepted{Signed: signed, InvitationID: inv.ID, AccountIDs: joined, NewUser: !exists}, nil
}

var sessionKey = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`#S#[0-9a-f]{64}`) }) // compiled on first use, not at init

var errUserChanged = apperr.New(apperr.KindConflict, "user_changed",
	"your account changed while accepting (suspended, or its email or name changed); reload and try again")

// existingInvitee admits the owner of an address that has an account: they
// accept in their own session, opened by signing in (POST /auth/sign-in,
// where failures are throttled). Nothing here verifies a password, so the
// link is no way to guess one: a password in the body, or no session of
// that user, is ErrSignInToAccept before anything is written or counted.
// (A session of someone else was refused before, as ErrForAnotherUser.)
func (s *Service) existingInvitee(ctx context.Context, t table.Tenant, inv Invitation, userID string, cmd Accept,
	me identity.User, signedIn bool) (identity.User, map[string]bool, error) {
	if cmd.Password != "" || !signedIn {
		return identity.User{}, nil, signInToAccept(inv)
	}
	if me.ID != userID {
		// Signed in with the invited address, yet the address now belongs
		// to another user (changed hands since the session began).
		return identity.User{}, nil, errUserChanged
	}
	user := me // read fresh by signedInAs; the transaction checks its version
	switch user.Status {
	case identity.UserActive:
	case identity.UserSuspended:
		return identity.User{}, nil, apperr.New(apperr.KindForbidden, "user_suspended", "this user is suspended; ask an administrator")
	default:
		return identity.User{}, nil, apperr.New(apperr.KindForbidden, "user_not_active", "this user cannot sign in yet; ask an administrator")
	}
	keys := make([]table.Key, 0, len(inv.AccountIDs))
	for _, a := range inv.AccountIDs {
		keys = append(keys, t.Membership(a, user.ID))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return identity.User{}, nil, fmt.Errorf("accept invitation %s: %w", inv.ID, err)
	}
	already := map[string]bool{}
	for _, a := range inv.AccountIDs {
		_, already[a] = items[t.Membership(a, user.ID)]
	}
	return user, already, nil
}

func signInToAccept(inv Invitation) error {
	return ErrSignInToAccept.Withf("this address already has an account: sign in as %s and accept; no password is sent with the accept", inv.Email).
		With("invitedEmail", inv.Email)
}

// explain turns a failed state change into what the caller needs to hear:
// when the invitation moved on meanwhile (another accept won the race, it
// expired, it was revoked or resent), it is re-read and its state reported.
func (s *Service) explain(ctx context.Context, t table.Tenant, id, token string, err error) error {
	if !errors.Is(err, errChanged) && apperr.KindOf(err) != apperr.KindUnavailable {
		return err
	}
	out := s.unlessUsedMeanwhile(ctx, t, id, token, err)
	if errors.Is(out, errChanged) {
		// A fresh read finds it usable, yet the condition failed: a
		// concurrent change came and went. Trying again is right.
		return apperr.ErrUnavailable.Withf("the invitation was busy; try again")
	}
	return out
}

// unlessUsedMeanwhile returns err, unless the invitation stopped being
// usable since it was read (accepted by a racing request, revoked, resent):
// then it returns what happened to it, which is what the caller must hear.
func (s *Service) unlessUsedMeanwhile(ctx context.Context, t table.Tenant, id, token string, err error) error {
	inv, gerr := s.get(ctx, t, id)
	if gerr != nil {
		return err
	}
	if uerr := s.usableForInvitee(ctx, t, inv, token, s.Clock.Now()); uerr != nil {
		return uerr
	}
	return err
}

func otherUser(inv Invitation, me identity.User) error {
	return ErrForAnotherUser.Withf("you are signed in as %s, but this invitation is for %s; sign out and sign in as %s (or open the link "+
		"signed out if that address has no account yet) to accept it. To get access as %s, ask %s to invite that address. "+
		"The invitation has not been used.", me.Email, inv.Email, inv.Email, me.Email, askWhom(inv)).
		With("signedInAs", me.Email).With("invitedEmail", inv.Email)
}

// signedInAs resolves a session sent with a request on a public route (the
// invitee may have no account yet). A missing, expired or
// other tenant's session counts as not signed in.
func (s *Service) signedInAs(ctx context.Context, t table.Tenant, session string) (identity.User, bool, error) {
	if session == "" || s.Auth == nil {
		return identity.User{}, false, nil
	}
	caller, err := s.Auth.Authorize(ctx, session)
	if err != nil {
		switch apperr.KindOf(err) {
		case apperr.KindUnauthenticated:
			return identity.User{}, false, nil
		case apperr.KindUnavailable:
			return identity.User{}, false, apperr.ErrUnavailable
		}
		// The cause names the session's key, which holds the token's hash:
		// keep it out of the logs.
		return identity.User{}, false, apperr.Internal("resolve the session sent with an invitation link",
			errors.New(sessionKey().ReplaceAllString(err.Error(), "#S#<hash>")))
	}
	if caller.Tenant.ID() != t.ID() {
		return identity.User{}, false, nil
	}
	var u identity.User
	ok, err := s.Store.Get(ctx, t.User(caller.UserID), &u)
	if err != nil {
		return identity.User{}, false, fmt.Errorf("resolve session: %w", err)
	}
	return u, ok, nil
}

// get reads an invitation of tenant t.
func (s *Service) get(ctx context.Context, t table.Tenant, id string) (Invitation, error) {
	if !ids.Valid(id) {
		return Invitation{}, ErrNotFound
	}
	var inv Invitation
	ok, err := s.Store.Get(ctx, t.Invitation(id), &inv)
	if err != nil {
		return Invitation{}, fmt.Errorf("read invitation %s: %w", id, err)
	}
	if !ok {
		return Invitation{}, ErrNotFound
	}
	return inv, nil
}

// moveEntry moves an account's index entry of inv to status (its GSI1 key
// names the status), out of pending: it leaves the account's users list
// in the same write (its GSI2 and GSI4 keys are removed).
func moveEntry(t table.Tenant, inv Invitation, accountID, status string) *store.Write {
	ix := t.AccountInvitationsByStatus(accountID, status, inv.ID)
	upd := expression.Set(expression.Name("status"), expression.Value(status)).
		Set(expression.Name(table.AttrGSI1PK), expression.Value(ix.PK)).
		Set(expression.Name(table.AttrGSI1SK), expression.Value(ix.SK)).
		Remove(expression.Name(table.AttrGSI2PK)).Remove(expression.Name(table.AttrGSI2SK)).
		Remove(expression.Name(table.AttrGSI4PK)).Remove(expression.Name(table.AttrGSI4SK))
	return store.Update(t.AccountInvitation(accountID, inv.ID), upd).If(store.Exists())
}
