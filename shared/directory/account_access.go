package directory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// AccessUser is who entered an account: their name and email as the entry
// recorded them, or, for entries written before entries recorded them,
// as the user's profile has them now (FromProfile).
type AccessUser struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	FromProfile bool   `json:"fromProfile,omitempty"`
}

// AccountAccessEntry is one sign-in to or switch into an account, or a
// minute of use of one of its API keys, as the API shows it.
type AccountAccessEntry struct {
	ID        string     `json:"id"`
	Event     string     `json:"event"` // sign_in, switch_account, api_key_used
	At        time.Time  `json:"at"`
	User      AccessUser `json:"user"`             // for an API key: the key's id and name
	Via       string     `json:"via"`              // member, external, support, api_key
	Reason    string     `json:"reason,omitempty"` // support: why they entered
	Method    string     `json:"method,omitempty"` // how the sign-in was proven: password, totp, sms, recovery
	IP        string     `json:"ip,omitempty"`
	UserAgent string     `json:"userAgent,omitempty"`
}

// AccountAccessPage is one page of an account's access history, newest first.
type AccountAccessPage struct {
	Entries    []AccountAccessEntry `json:"entries"`
	NextCursor string               `json:"nextCursor,omitempty"`
}

// AccountAccessHistory reads every sign-in to and switch into an account
// (by its members, external members and support) and each minute of use
// of its API keys (via api_key, the key in place of a user), newest
// first: one Query per page on the account's partition of GSI1
// (table.AccountAccess), then one BatchGetItem for the users of the page
// (who they are, how they belong) and caller's Admin standing. Callers need audit.read in the
// account (operators hold it without a switch); IP address and user agent
// go only to the account's Admins, operators and the entry's own user, as
// in a user's access history (clientShown).
func (d *Directory) AccountAccessHistory(ctx context.Context, caller access.Caller, accountID string, limit int32, cursor string) (AccountAccessPage, error) {
	if !ids.Valid(accountID) {
		return AccountAccessPage{}, apperr.ErrNotFound.Withf("no account %q", accountID)
	}
	if err := d.Access.Require(ctx, caller, access.ReadAudit, accountID); err != nil {
		return AccountAccessPage{}, err
	}
	ix := caller.Tenant.AccountAccess(accountID, "")
	q := store.Query{Index: table.GSI1, Partition: ix.PK, SKPrefix: ix.SK, Newest: true}
	items, next, err := readSegments(ctx, d.Store, []store.Query{q}, limit, cursor)
	if err != nil {
		return AccountAccessPage{}, fmt.Errorf("read access history of account %s: %w", accountID, err)
	}
	entries, err := decodeAll[identity.AccessEntry](items)
	if err != nil {
		return AccountAccessPage{}, err
	}
	people, admin, err := d.enteredBy(ctx, caller, accountID, entries)
	if err != nil {
		return AccountAccessPage{}, fmt.Errorf("read access history of account %s: %w", accountID, err)
	}
	out := AccountAccessPage{Entries: make([]AccountAccessEntry, 0, len(entries)), NextCursor: next}
	for _, e := range entries {
		p := people[e.UserID]
		a := AccountAccessEntry{ID: e.ID, Event: e.Event, At: e.At, User: AccessUser{ID: e.UserID, Name: e.UserName, Email: e.UserEmail},
			Via: e.Via, Reason: e.Reason, Method: e.Method}
		if a.User.Name == "" && a.User.Email == "" && p.found {
			a.User.Name, a.User.Email, a.User.FromProfile = p.name, p.email, true
		}
		if a.Via == "" {
			a.Via = p.via(e, accountID)
		}
		if admin || e.UserID == caller.UserID {
			a.IP, a.UserAgent = e.IP, e.UserAgent
		}
		out.Entries = append(out.Entries, a)
	}
	return out, nil
}

// enteredBy is what a page needs to know of its users: each one's profile
// and membership of the account, and whether caller sees clients there
// (operator or Admin, as adminIn decides), in one BatchGetItem.
func (d *Directory) enteredBy(ctx context.Context, caller access.Caller, accountID string, entries []identity.AccessEntry) (map[string]person, bool, error) {
	t := caller.Tenant
	var users []string
	for _, e := range entries {
		if e.Via != identity.AccessViaAPIKey && !slices.Contains(users, e.UserID) {
			users = append(users, e.UserID)
		}
	}
	keys := make([]table.Key, 0, 2*len(users)+2)
	for _, u := range users {
		keys = append(keys, t.User(u), t.Membership(accountID, u))
	}
	if !caller.Operator {
		keys = append(keys, t.Account(accountID))
		if !slices.Contains(users, caller.UserID) {
			keys = append(keys, t.Membership(accountID, caller.UserID))
		}
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, false, err
	}
	out := make(map[string]person, len(users))
	for _, id := range users {
		var p person
		if it, ok := got[t.User(id)]; ok {
			var u identity.User
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return nil, false, apperr.Internal("decode user", err)
			}
			p = person{found: true, name: u.Name(), email: u.Email, home: u.HomeAccountID}
		}
		if it, ok := got[t.Membership(accountID, id)]; ok {
			var m accounts.Membership
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, false, apperr.Internal("decode membership", err)
			}
			p.licensed = m.Licence != ""
		}
		out[id] = p
	}
	if caller.Operator {
		return out, true, nil
	}
	admin, err := adminsFrom(caller, []string{accountID}, got)
	if err != nil {
		return nil, false, err
	}
	return out, admin[accountID], nil
}

// person is what an account's access history shows of one user.
type person struct {
	found       bool
	name, email string
	home        string
	licensed    bool // holds a licensed membership of the account now
}

// via derives how the entry's user entered the account, for entries that
// did not record it: a tenant operator's switch (it carries the operator
// as actor) into an account that is neither their home nor one they hold
// a licensed membership of is support (access.EntersAsSupport); a user
// whose home account is elsewhere is an external member.
func (p person) via(e identity.AccessEntry, accountID string) string {
	switch {
	case e.ActorID != "" && access.EntersAsSupport(true, p.home, accountID, p.licensed):
		return identity.AccessViaSupport
	case p.found && p.home != "" && p.home != accountID:
		return identity.AccessViaExternal
	}
	return identity.AccessViaMember
}

// AccountAccessCSV is a page of an account's access history as its export
// (GET /accounts/{id}/access-history/export.csv): the entries exactly as
// AccountAccessHistory showed them to its caller, so a reader who sees no
// IP address or user agent in the JSON sees none in the CSV either;
// instants in zone, each beside its UTC form (csvexport.Instant).
func AccountAccessCSV(entries []AccountAccessEntry, zone *time.Location) *csvexport.Sheet {
	header := []string{"id", "event", "via", "user_id", "name", "email", "reason", "ip", "user_agent"}
	sheet := csvexport.New(append(header, csvexport.InstantColumns("at")...)...)
	for _, e := range entries {
		cells := []string{e.ID, e.Event, e.Via, e.User.ID, e.User.Name, e.User.Email, e.Reason, e.IP, e.UserAgent}
		sheet.Row(append(cells, csvexport.Instant(&e.At, zone)...)...)
	}
	return sheet
}
