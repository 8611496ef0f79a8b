package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// NoLicence filters the members without a licence (licence=none).
const NoLicence = "none"

// Kinds of row in an account's users list.
const (
	KindMember     = "member"
	KindInvitation = "invitation"
)

// Orders of the users list.
const (
	SortEmail  = "email"
	SortByName = "name"
)

// Item types the users list reads.
const (
	typeMembership = "MEMBERSHIP"
	typeInvitation = invitations.TypeAccountEntry
)

// MemberQuery asks for one page of an account's users: its members and its
// pending invitations, in one stream, by email or by name.
type MemberQuery struct {
	Caller    access.Caller
	AccountID string
	Sort      string // SortEmail (default) or SortByName
	Email     string // q: email prefix, lower-cased (email order)
	Name      string // name: last or first name prefix, lower-cased (name order)
	Desc      bool
	Kind      string // only KindMember or KindInvitation rows; "" both
	Role      string // only rows holding (offering) this role
	Licence   string // only members holding this licence type, or NoLicence
	External  *bool  // only external (true) or home (false) members
	Limit     int32
	Cursor    string
}

// ParseMemberQuery reads the list parameters: sort (email, name), order
// (asc, desc), q (email prefix, with sort=email), name (last or first name
// prefix, which implies sort=name), kind (member, invitation), role,
// licence, external (true, false), limit, cursor. Licence and external
// filter members, so they leave the invitations out.
func ParseMemberQuery(caller access.Caller, accountID string, params map[string]string, defLimit, maxLimit int32) (MemberQuery, error) {
	var f apperr.Fields
	q := MemberQuery{Caller: caller, AccountID: accountID, Sort: SortEmail, Cursor: params["cursor"]}
	q.Email = searchTerm(params, "q", &f)
	q.Name = strings.Join(strings.Fields(searchTerm(params, "name", &f)), " ")
	if q.Name != "" {
		q.Sort = SortByName
	}
	if s, ok := params["sort"]; ok {
		f.Check(s == SortEmail || s == SortByName, "sort", "invalid_sort", "sort is email or name")
		f.Check(q.Name == "" || s == SortByName, "sort", "unsupported_sort", "a name search lists in name order: use sort=name with name")
		q.Sort = s
	}
	f.Check(q.Email == "" || q.Sort == SortEmail, "q", "unsupported_sort",
		"q searches by email prefix in email order; search by name with name=")
	q.Desc = parseOrder(params, &f)
	if k, ok := params["kind"]; ok {
		q.Kind = k
		f.Check(k == KindMember || k == KindInvitation, "kind", "invalid_kind", "kind is member or invitation")
	}
	q.Role = strings.TrimSpace(params["role"])
	f.Check(len(q.Role) <= 64, "role", "too_long", "not a role name")
	q.Licence = strings.TrimSpace(params["licence"])
	f.Check(len(q.Licence) <= 64, "licence", "too_long", "not a licence type")
	if v, ok := params["external"]; ok {
		f.Check(v == "true" || v == "false", "external", "invalid", "external is true or false")
		b := v == "true"
		q.External = &b
	}
	f.Check(q.Kind != KindInvitation || q.Licence == "" && q.External == nil, "kind", "unsupported_combination",
		"licence and external filter members; invitations have neither")
	v, present := params["limit"]
	q.Limit = Limit(v, present, defLimit, maxLimit, &f)
	return q, f.Err()
}

// MemberRow is one row of an account's users list: a member (Kind
// "member": the user, their roles, licence, status) or a pending
// invitation (Kind "invitation": the address, the roles offered, status
// "pending", when it was sent and when it expires).
type MemberRow struct {
	Kind         string     `json:"kind"`
	UserID       string     `json:"userId,omitempty"`
	InvitationID string     `json:"invitationId,omitempty"`
	Email        string     `json:"email"`
	FirstName    string     `json:"firstName"`
	LastName     string     `json:"lastName"`
	Status       string     `json:"status"` // a member's user's: active, pending, suspended; "pending" for an invitation
	Roles        []string   `json:"roles"`
	Licence      string     `json:"licence,omitempty"`
	External     bool       `json:"external"`
	JoinedAt     *time.Time `json:"joinedAt,omitempty"`  // members
	InvitedAt    *time.Time `json:"invitedAt,omitempty"` // invitations
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"` // invitations
	// Delivery and DeliveryError are an invitation's email delivery, as
	// the invitation list shows them (invitations.View), read from the
	// invitation in the page's one BatchGetItem.
	Delivery      string `json:"delivery,omitempty"`
	DeliveryError string `json:"deliveryError,omitempty"`
	Version       int64  `json:"version,omitempty"` // the membership's, for If-Match on roles and licence
}

// MemberPage is one page of an account's users.
type MemberPage struct {
	Members    []MemberRow `json:"members"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// Members lists an account's users, members and pending invitations in one
// ordered stream (see memberSegments), with each member's name and status
// read in one BatchGetItem. Filters run in the Query, so a filtered page may
// come back shorter than asked, with a cursor.
func (d *Directory) Members(ctx context.Context, q MemberQuery) (MemberPage, error) {
	if !ids.Valid(q.AccountID) {
		return MemberPage{}, apperr.ErrNotFound.Withf("no account %q", q.AccountID)
	}
	if err := d.Access.Require(ctx, q.Caller, access.ReadUsers, q.AccountID); err != nil {
		return MemberPage{}, fmt.Errorf("list members of %s: %w", q.AccountID, err)
	}
	t := q.Caller.Tenant
	items, next, err := readSegments(ctx, d.Store, memberSegments(q, d.Clock.Now()), q.Limit, q.Cursor)
	if err != nil {
		return MemberPage{}, fmt.Errorf("list members of %s: %w", q.AccountID, err)
	}
	rows, err := d.memberRows(ctx, t, items)
	if err != nil {
		return MemberPage{}, err
	}
	return MemberPage{Members: rows, NextCursor: next}, nil
}

// memberSegments are the Queries that list q's rows in order. The same
// partition of each index holds the account's memberships and its pending
// invitations' entries:
//   - by email (default): GSI2 table.AccountMembersByEmail and
//     AccountInvitationByEmail, begins_with the email prefix q;
//   - by name: GSI4 table.AccountMembersByName, whole: named members by
//     "last first", then the rows without a name (pending invitations,
//     members who gave none) by email; descending reverses it all;
//   - a name search: the members whose "last first" name starts with the
//     prefix (GSI4), then those whose "first last" name does (GSI5) and
//     were not already listed (a filter drops the rows the first query
//     returned). Rows without a name never match.
func memberSegments(q MemberQuery, now time.Time) []store.Query {
	t := q.Caller.Tenant
	partition := t.AccountMembersByEmail(q.AccountID, "", "").PK
	filter := memberFilter(q, now)
	with := func(query store.Query, more ...expression.ConditionBuilder) store.Query {
		c := filter
		for _, m := range more {
			c = c.And(m)
		}
		query.Filter = &c
		return query
	}
	switch {
	case q.Sort == SortByName && q.Name != "":
		prefix := table.MembersNamePrefix + q.Name
		byLast := with(store.Query{Index: table.GSI4, Partition: partition, SKPrefix: prefix, Newest: q.Desc})
		byFirst := with(store.Query{Index: table.GSI5, Partition: partition, SKPrefix: prefix, Newest: q.Desc},
			expression.Not(expression.Name(table.AttrGSI4SK).BeginsWith(prefix)))
		return []store.Query{byLast, byFirst}
	case q.Sort == SortByName:
		return []store.Query{with(store.Query{Index: table.GSI4, Partition: partition, Newest: q.Desc})}
	default:
		return []store.Query{with(store.Query{Index: table.GSI2, Partition: partition, SKPrefix: table.MembersEmailPrefix + q.Email, Newest: q.Desc})}
	}
}

// memberFilter narrows q's rows: a pending invitation past its expiry
// (which the expiry job has not yet marked) never shows, and the kind,
// role, licence and external filters apply; licence and external only
// match members.
func memberFilter(q MemberQuery, now time.Time) expression.ConditionBuilder {
	isMember := expression.Name("type").Equal(expression.Value(typeMembership))
	conds := []expression.ConditionBuilder{
		expression.Name("type").NotEqual(expression.Value(typeInvitation)).Or(invitations.UnexpiredAt(now)),
	}
	switch q.Kind {
	case KindMember:
		conds = append(conds, isMember)
	case KindInvitation:
		conds = append(conds, expression.Name("type").Equal(expression.Value(typeInvitation)))
	}
	if q.Role != "" {
		conds = append(conds, accounts.HasRole(q.Role))
	}
	switch q.Licence {
	case "":
	case NoLicence:
		conds = append(conds, isMember, accounts.HoldsNoLicence())
	default:
		conds = append(conds, isMember, accounts.HoldsLicence(q.Licence))
	}
	if q.External != nil {
		if *q.External {
			conds = append(conds, isMember, accounts.IsExternal())
		} else {
			conds = append(conds, isMember, accounts.IsNotExternal())
		}
	}
	c := conds[0]
	for _, more := range conds[1:] {
		c = c.And(more)
	}
	return c
}

// memberRows turns the items of a page into rows, in their order: members
// with their user's name and status (one BatchGetItem for the page),
// invitations from their entry.
func (d *Directory) memberRows(ctx context.Context, t table.Tenant, items []map[string]types.AttributeValue) ([]MemberRow, error) {
	rows := make([]MemberRow, 0, len(items))
	var keys []table.Key
	for _, it := range items {
		var kind struct {
			Type string `dynamodbav:"type"`
		}
		if err := attributevalue.UnmarshalMap(it, &kind); err != nil {
			return nil, apperr.Internal("decode users list item", err)
		}
		switch kind.Type {
		case typeMembership:
			var m accounts.Membership
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				return nil, apperr.Internal("decode membership", err)
			}
			joined := m.CreatedAt
			rows = append(rows, MemberRow{Kind: KindMember, UserID: m.UserID, Email: m.Email, Roles: sortedRoles(m.Roles), Licence: m.Licence,
				External: m.External, JoinedAt: &joined, Version: m.Version, Status: identity.UserDeleted})
			keys = append(keys, t.User(m.UserID))
		case typeInvitation:
			var e invitations.AccountEntry
			if err := attributevalue.UnmarshalMap(it, &e); err != nil {
				return nil, apperr.Internal("decode invitation entry", err)
			}
			invited, expires := time.Unix(e.CreatedAt, 0).UTC(), time.Unix(e.ExpiresAt, 0).UTC()
			rows = append(rows, MemberRow{Kind: KindInvitation, InvitationID: e.InvitationID, Email: e.Email, Roles: sortedRoles(e.Roles),
				Status: invitations.StatusPending, InvitedAt: &invited, ExpiresAt: &expires})
			keys = append(keys, t.Invitation(e.InvitationID))
		default:
			return nil, apperr.Internal("list users", fmt.Errorf("unexpected item type %q in the users list", kind.Type))
		}
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, fmt.Errorf("read members' profiles: %w", err)
	}
	for i, r := range rows {
		if r.Kind == KindInvitation {
			if it, ok := got[t.Invitation(r.InvitationID)]; ok {
				var inv invitations.Invitation
				if err := attributevalue.UnmarshalMap(it, &inv); err != nil {
					return nil, apperr.Internal("decode invitation", err)
				}
				rows[i].Delivery, rows[i].DeliveryError = inv.Delivery, inv.DeliveryError
			}
			continue
		}
		it, ok := got[t.User(r.UserID)]
		if r.Kind != KindMember || !ok {
			continue
		}
		var u identity.User
		if err := attributevalue.UnmarshalMap(it, &u); err != nil {
			return nil, apperr.Internal("decode user", err)
		}
		rows[i].FirstName, rows[i].LastName, rows[i].Status = u.FirstName, u.LastName, u.Status
	}
	return rows, nil
}

func sortedRoles(roles []string) []string {
	if len(roles) == 0 {
		return []string{}
	}
	return slices.Sorted(slices.Values(roles))
}

// MembersCSV renders rows as the users export: members and pending
// invitations, each row saying which it is. Instants are in zone, the
// reader's (ReaderZone), each with its UTC column beside it.
func MembersCSV(rows []MemberRow, zone *time.Location) *csvexport.Sheet {
	header := []string{"kind", "user_id", "invitation_id", "email", "first_name", "last_name", "status", "roles", "licence", "external"}
	sheet := csvexport.New(append(header, csvexport.InstantColumns("joined_at", "invited_at", "expires_at")...)...)
	for _, r := range rows {
		cells := []string{r.Kind, r.UserID, r.InvitationID, r.Email, r.FirstName, r.LastName, r.Status, strings.Join(r.Roles, ";"), r.Licence,
			fmt.Sprint(r.External)}
		for _, at := range []*time.Time{r.JoinedAt, r.InvitedAt, r.ExpiresAt} {
			cells = append(cells, csvexport.Instant(at, zone)...)
		}
		sheet.Row(cells...)
	}
	return sheet
}
