package invitations

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/changelog"
	"github.com/acme/accountadmin/shared/email"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/suppression"
	"github.com/acme/accountadmin/shared/table"
)

// List bounds.
const (
	DefaultPageSize = 25
	MaxPageSize     = 100
)

// ListQuery asks for one page of an account's invitations in one status.
type ListQuery struct {
	Caller    access.Caller
	AccountID string
	Status    string
	Limit     int32
	Cursor    string
}

// ListPage is one page, newest first.
type ListPage struct {
	Invitations []View `json:"invitations"`
	NextCursor  string `json:"nextCursor,omitempty"`
}

// List reads an account's invitations in one status, newest first (GSI1,
// Query descending; ids are time ordered). Members who may read the user
// list may read it. Each entry is read back from its invitation, so the page
// shows current data even while the index catches up; entries whose
// invitation has moved to another status meanwhile are left out. A pending
// invitation past its expiry is not listed as pending, even before the
// expiry job marks it; it is listed as expired once marked.
//
// The account's users list (GET /accounts/{id}/users) shows pending
// invitations beside members through its own indexes (usersListKeys).
func (s *Service) List(ctx context.Context, q ListQuery) (ListPage, error) {
	if !ids.Valid(q.AccountID) {
		return ListPage{}, apperr.ErrNotFound.Withf("no account %q", q.AccountID)
	}
	if err := s.Access.Require(ctx, q.Caller, access.ReadUsers, q.AccountID); err != nil {
		return ListPage{}, fmt.Errorf("list invitations of %s: %w", q.AccountID, err)
	}
	t, now := q.Caller.Tenant, s.Clock.Now()
	ix := t.AccountInvitationsByStatus(q.AccountID, q.Status, "")
	query := store.Query{Index: table.GSI1, Partition: ix.PK, Newest: true, Limit: q.Limit, Cursor: q.Cursor}
	if q.Status == StatusPending {
		notDue := expression.Name("expiresAt").GreaterThan(expression.Value(now.Unix()))
		query.Filter = &notDue
	}
	page, err := s.Store.QueryPage(ctx, query)
	if err != nil {
		return ListPage{}, fmt.Errorf("list invitations of %s: %w", q.AccountID, err)
	}
	var entries []AccountEntry
	if err := page.Decode(&entries); err != nil {
		return ListPage{}, apperr.Internal("decode invitation entries", err)
	}
	keys := make([]table.Key, 0, len(entries))
	for _, e := range entries {
		keys = append(keys, t.Invitation(e.InvitationID))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return ListPage{}, fmt.Errorf("list invitations of %s: %w", q.AccountID, err)
	}
	out := ListPage{Invitations: []View{}, NextCursor: page.Cursor}
	for _, e := range entries {
		it, ok := items[t.Invitation(e.InvitationID)]
		if !ok {
			continue
		}
		var inv Invitation
		if err := attributevalue.UnmarshalMap(it, &inv); err != nil {
			return ListPage{}, apperr.Internal("decode invitation", err)
		}
		if inv.Status != q.Status {
			continue
		}
		out.Invitations = append(out.Invitations, ViewOf(inv, now))
	}
	return out, nil
}

// ResendCommand renews an invitation.
type ResendCommand struct {
	Caller       access.Caller
	InvitationID string
	IfMatch      int64 // the version the caller saw (If-Match), 0 = any
	SendEmail    bool
}

// Resent is a renewed invitation; AcceptURL only when no email was sent.
type Resent struct {
	Invitation View   `json:"invitation"`
	AcceptURL  string `json:"acceptUrl,omitempty"`
}

// Resend gives a pending (or expired) invitation a new link and seven new
// days from now, and emails it: the old link stops working at once. The
// caller must be allowed to invite in every account of the invitation and
// to grant its roles there, as for a new invitation, and becomes its
// inviter: the accept re-checks the resender's authority, so an Admin's
// resend revives an invitation whose first inviter left or lost the right. It
// counts against the sending limits like a new invitation. An expired
// invitation comes back to pending only if no other pending invitation took
// its place meanwhile (its guards are put again with attribute_not_exists).
func (s *Service) Resend(ctx context.Context, cmd ResendCommand) (Resent, error) {
	t := cmd.Caller.Tenant
	inv, err := s.get(ctx, t, cmd.InvitationID)
	if err != nil {
		return Resent{}, err
	}
	gs, err := s.requireGrants(ctx, cmd.Caller, inv.AccountIDs, inv.Roles)
	if err != nil {
		return Resent{}, fmt.Errorf("resend %s: %w", describe(inv), err)
	}
	if cmd.IfMatch != 0 && cmd.IfMatch != inv.Version {
		return Resent{}, apperr.ErrVersionConflict
	}
	if inv.Status != StatusPending && inv.Status != StatusExpired {
		return Resent{}, notChangeable(inv)
	}
	ic, err := s.loadAccounts(ctx, t, cmd.Caller.UserID, inv.AccountIDs, inv.Email)
	if err != nil {
		return Resent{}, err
	}
	now := s.Clock.Now()
	token := newToken(t, inv.ID)
	exp := now.Add(ValidFor)
	due := t.DueInvitation(exp, inv.ID)
	delivery := DeliverySending
	if !cmd.SendEmail {
		delivery = DeliveryNotRequested
	}
	replaced := append(slices.Clone(inv.ReplacedLinks), inv.TokenHash)
	if len(replaced) > maxReplacedLinks {
		replaced = replaced[len(replaced)-maxReplacedLinks:]
	}
	before := map[string]any{"status": inv.Status, "expiresAt": inv.Expiry(), "inviterId": inv.InviterID}
	wasExpired := inv.Status == StatusExpired
	next := inv
	next.TokenHash, next.ReplacedLinks, next.ExpiresAt, next.SentAt, next.Sends = ids.Hash(token), replaced, exp.Unix(), now.Unix(), inv.Sends+1
	next.Status, next.Delivery, next.DeliveryError, next.ResentBy, next.ExpiredAt = StatusPending, delivery, "", cmd.Caller.UserID, 0
	next.MessageID = ""
	next.Version, next.UpdatedAt = inv.Version+1, now
	next.GSI3PK, next.GSI3SK = due.PK, due.SK
	next.InviterID, next.InviterName, next.InviterEmail = ic.inviter.ID, ic.inviter.Name(), ic.inviter.Email
	next.InviterSupport = gs.supportIn(inv.AccountIDs)

	upd := store.BumpVersion().
		Set(expression.Name("tokenHash"), expression.Value(next.TokenHash)).
		Set(expression.Name("replacedLinks"), expression.Value(next.ReplacedLinks)).
		Set(expression.Name("expiresAt"), expression.Value(next.ExpiresAt)).
		Set(expression.Name("sentAt"), expression.Value(next.SentAt)).
		Set(expression.Name("sends"), expression.Value(next.Sends)).
		Set(expression.Name("status"), expression.Value(StatusPending)).
		Set(expression.Name("delivery"), expression.Value(delivery)).
		Set(expression.Name("resentBy"), expression.Value(next.ResentBy)).
		Set(expression.Name("inviterId"), expression.Value(next.InviterID)).
		Set(expression.Name("inviterName"), expression.Value(next.InviterName)).
		Set(expression.Name("inviterEmail"), expression.Value(next.InviterEmail)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Set(expression.Name(table.AttrGSI3PK), expression.Value(due.PK)).
		Set(expression.Name(table.AttrGSI3SK), expression.Value(due.SK)).
		Remove(expression.Name("deliveryError")).Remove(expression.Name("messageId")).Remove(expression.Name("expiredAt")).
		Remove(expression.Name("proofFailures")).Remove(expression.Name("proofLockedUntil"))
	if len(next.InviterSupport) > 0 {
		upd = upd.Set(expression.Name("inviterSupport"), expression.Value(&types.AttributeValueMemberSS{Value: next.InviterSupport}))
	} else {
		upd = upd.Remove(expression.Name("inviterSupport"))
	}
	var seatWrites []*store.Write
	if wasExpired && inv.Licence != "" {
		// Back to pending: it holds a seat again where the licence is metered.
		seats, err := s.seatsFor(ctx, t, ic.settings, ic.accounts, inv.AccountIDs, inv.Licence)
		if err != nil {
			return Resent{}, err
		}
		one := map[string]int{}
		for _, a := range inv.AccountIDs {
			one[a] = 1
		}
		if err := enoughSeats(seats, one, ic.settings.PurchaseURL); err != nil {
			return Resent{}, err
		}
		seatWrites, next.Reserved = reservations(t, seats, inv.AccountIDs, ic.settings.PurchaseURL)
		if len(next.Reserved) > 0 {
			upd = upd.Set(expression.Name("reserved"), expression.Value(&types.AttributeValueMemberSS{Value: next.Reserved}))
		}
	}
	writes := []*store.Write{
		store.Update(t.Invitation(inv.ID), upd).If(store.AtVersion(inv.Version).And(store.Is("status", inv.Status))).OrFail(errChanged),
	}
	writes = append(writes, seatWrites...)
	for _, a := range inv.AccountIDs {
		ix := t.AccountInvitationsByStatus(a, StatusPending, inv.ID)
		byEmail, byName := usersListKeys(t, a, inv) // back in the users list
		writes = append(writes, store.Update(t.AccountInvitation(a, inv.ID),
			expression.Set(expression.Name("status"), expression.Value(StatusPending)).
				Set(expression.Name("expiresAt"), expression.Value(next.ExpiresAt)).
				Set(expression.Name("roles"), expression.Value(inv.Roles)).
				Set(expression.Name(table.AttrGSI1PK), expression.Value(ix.PK)).
				Set(expression.Name(table.AttrGSI1SK), expression.Value(ix.SK)).
				Set(expression.Name(table.AttrGSI2PK), expression.Value(byEmail.PK)).
				Set(expression.Name(table.AttrGSI2SK), expression.Value(byEmail.SK)).
				Set(expression.Name(table.AttrGSI4PK), expression.Value(byName.PK)).
				Set(expression.Name(table.AttrGSI4SK), expression.Value(byName.SK))).If(store.Exists()))
		if wasExpired {
			writes = append(writes, store.Put(newGuard(t, a, inv.Email, inv.ID)).If(store.NotExists()).
				OrFail(ErrAlreadyInvited.Withf("%s has a newer pending invitation to account %s; resend that one", inv.Email, a)))
		}
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, a, changelog.ActorOf(cmd.Caller), "invitation.resent", changeLogSubjectInv, inv.ID,
			before, map[string]any{"status": StatusPending, "expiresAt": exp, "sendEmail": cmd.SendEmail, "inviterId": next.InviterID}).Write())
	}
	writes = append(writes, gs.checks(inv.AccountIDs)...)
	writes = append(writes, s.quotaWrites(t, ic.settings, cmd.Caller.UserID, inv.AccountIDs, now)...)
	writes = append(writes, accounts.OpenEach(t, inv.AccountIDs...)...)
	writes = append(writes, suppression.NotSuppressed(t, inv.Email))
	if err := s.Store.Transact(ctx, "resend "+describe(inv), writes...); err != nil {
		return Resent{}, s.explainChange(ctx, t, inv.ID, err)
	}
	out := Resent{}
	if cmd.SendEmail {
		next.Delivery, next.DeliveryError = s.deliver(ctx, t, next, token, ic)
	} else {
		out.AcceptURL = s.link(token)
	}
	out.Invitation = ViewOf(next, now)
	return out, nil
}

// RevokeCommand withdraws an invitation.
type RevokeCommand struct {
	Caller       access.Caller
	InvitationID string
	IfMatch      int64
}

// Revoke withdraws a pending (or expired) invitation: its link stops working
// and the address may be invited again. Revoking a revoked invitation
// changes nothing; an accepted one cannot be revoked (remove the membership
// instead).
func (s *Service) Revoke(ctx context.Context, cmd RevokeCommand) error {
	t := cmd.Caller.Tenant
	inv, err := s.get(ctx, t, cmd.InvitationID)
	if err != nil {
		return err
	}
	if err := s.requireAll(ctx, cmd.Caller, inv); err != nil {
		return err
	}
	if cmd.IfMatch != 0 && cmd.IfMatch != inv.Version {
		return apperr.ErrVersionConflict
	}
	switch inv.Status {
	case StatusRevoked:
		return nil
	case StatusAccepted:
		return notChangeable(inv)
	}
	now := s.Clock.Now()
	upd := store.BumpVersion().
		Set(expression.Name("status"), expression.Value(StatusRevoked)).
		Set(expression.Name("revokedAt"), expression.Value(now.Unix())).
		Set(expression.Name("revokedBy"), expression.Value(cmd.Caller.UserID)).
		Set(expression.Name("updatedAt"), expression.Value(now)).
		Remove(expression.Name(table.AttrGSI3PK)).Remove(expression.Name(table.AttrGSI3SK))
	writes := []*store.Write{
		store.Update(t.Invitation(inv.ID), upd.Remove(expression.Name("reserved"))).
			If(store.AtVersion(inv.Version).And(store.Is("status", inv.Status))).OrFail(errChanged),
	}
	if inv.Status == StatusPending {
		writes = append(writes, releases(t, inv)...) // its seats are free again
	}
	for _, a := range inv.AccountIDs {
		writes = append(writes, moveEntry(t, inv, a, StatusRevoked))
		if inv.Status == StatusPending {
			writes = append(writes, store.Delete(t.PendingInvitation(a, inv.Email)))
		}
		writes = append(writes, changelog.New(t, s.IDs.NewID(), now, a, changelog.ActorOf(cmd.Caller), "invitation.revoked", changeLogSubjectInv, inv.ID,
			map[string]any{"status": inv.Status}, map[string]any{"status": StatusRevoked, "email": inv.Email}).Write())
	}
	writes = append(writes, accounts.OpenEach(t, inv.AccountIDs...)...)
	if err := s.Store.Transact(ctx, "revoke "+describe(inv), writes...); err != nil {
		err = s.explainChange(ctx, t, inv.ID, err)
		if errors.Is(err, errAlreadyRevoked) {
			return nil
		}
		return err
	}
	return nil
}

var errAlreadyRevoked = apperr.New(apperr.KindConflict, "invitation_revoked_meanwhile", "revoked meanwhile")

// explainChange re-reads an invitation whose resend or revoke lost a race,
// to say what it became.
func (s *Service) explainChange(ctx context.Context, t table.Tenant, id string, err error) error {
	if !errors.Is(err, errChanged) {
		return err
	}
	inv, gerr := s.get(ctx, t, id)
	if gerr != nil {
		return err
	}
	switch inv.Status {
	case StatusAccepted:
		return notChangeable(inv)
	case StatusRevoked:
		return errAlreadyRevoked
	}
	return apperr.ErrVersionConflict
}

func notChangeable(inv Invitation) error {
	switch inv.Status {
	case StatusAccepted:
		return ErrNotPending.Withf("this invitation was accepted on %s; %s is a member already (remove the membership to take access away)",
			email.FormatInstant(epoch(inv.AcceptedAt)), inv.Email).With("status", inv.Status)
	case StatusRevoked:
		return ErrNotPending.Withf("this invitation was withdrawn on %s; invite %s again instead", email.FormatInstant(epoch(inv.RevokedAt)), inv.Email).
			With("status", inv.Status)
	}
	return ErrNotPending.With("status", inv.Status)
}

// requireAll: the caller may invite in every account of inv.
func (s *Service) requireAll(ctx context.Context, caller access.Caller, inv Invitation) error {
	for _, a := range inv.AccountIDs {
		if err := s.Access.Require(ctx, caller, access.InviteUsers, a); err != nil {
			return fmt.Errorf("%s in account %s: %w", describe(inv), a, err)
		}
	}
	return nil
}

// loadAccounts reads what a resend needs: the resender (the new inviter),
// the tenant's name and the accounts' names, and whether the address addr
// is suppressed; a closed account cannot be resent to, nor a suppressed
// address (409 address_suppressed).
func (s *Service) loadAccounts(ctx context.Context, t table.Tenant, resenderID string, accountIDs []string, addr string) (inviteContext, error) {
	keys := []table.Key{t.Settings(), t.User(resenderID), t.Suppression(addr)}
	for _, a := range accountIDs {
		keys = append(keys, t.Account(a))
	}
	items, err := s.Store.GetMany(ctx, keys)
	if err != nil {
		return inviteContext{}, fmt.Errorf("load invitation accounts: %w", err)
	}
	ic := inviteContext{accounts: map[string]accounts.Account{}}
	if _, suppressed := items[t.Suppression(addr)]; suppressed {
		var e suppression.Entry
		if err := decodeItem(items, t.Suppression(addr), &e); err != nil {
			return inviteContext{}, err
		}
		return inviteContext{}, suppression.Refusal(e)
	}
	if err := decodeItem(items, t.Settings(), &ic.settings); err != nil {
		return inviteContext{}, err
	}
	if err := decodeItem(items, t.User(resenderID), &ic.inviter); err != nil {
		return inviteContext{}, err
	}
	if err := ic.inviter.RequireVerifiedEmail(); err != nil {
		return inviteContext{}, err // a resend makes them the inviter
	}
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
	return ic, nil
}
