package directory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/csvexport"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// NoLicence filters the members without a licence (licence=none).
const NoLicence = "none"

// MemberQuery asks for one page of an account's members, in email order.
type MemberQuery struct {
	Caller    access.Caller
	AccountID string
	Email     string // email prefix, lower-cased
	Desc      bool
	Role      string // only members holding this role
	Licence   string // only members holding this licence type, or NoLicence
	External  *bool  // only external (true) or home (false) members
	Limit     int32
	Cursor    string
}

// ParseMemberQuery reads the list parameters: q (email prefix), order (asc,
// desc), role, licence, external (true, false), limit, cursor.
func ParseMemberQuery(caller access.Caller, accountID string, params map[string]string, defLimit, maxLimit int32) (MemberQuery, error) {
	var f apperr.Fields
	q := MemberQuery{Caller: caller, AccountID: accountID, Cursor: params["cursor"]}
	if s, ok := params["sort"]; ok {
		f.Check(s == "email", "sort", "invalid_sort", "members are listed by email (sort=email)")
	}
	q.Desc = parseOrder(params, &f)
	q.Email = searchTerm(params, "q", &f)
	q.Role = strings.TrimSpace(params["role"])
	f.Check(len(q.Role) <= 64, "role", "too_long", "not a role name")
	q.Licence = strings.TrimSpace(params["licence"])
	f.Check(len(q.Licence) <= 64, "licence", "too_long", "not a licence type")
	if v, ok := params["external"]; ok {
		f.Check(v == "true" || v == "false", "external", "invalid", "external is true or false")
		b := v == "true"
		q.External = &b
	}
	v, present := params["limit"]
	q.Limit = Limit(v, present, defLimit, maxLimit, &f)
	return q, f.Err()
}

// MemberRow is one member of an account as lists show it.
type MemberRow struct {
	UserID    string    `json:"userId"`
	Email     string    `json:"email"`
	FirstName string    `json:"firstName"`
	LastName  string    `json:"lastName"`
	Status    string    `json:"status"` // the user's: active, pending, suspended
	Roles     []string  `json:"roles"`
	Licence   string    `json:"licence,omitempty"`
	External  bool      `json:"external"`
	JoinedAt  time.Time `json:"joinedAt"`
	Version   int64     `json:"version"` // the membership's, for If-Match on roles and licence
}

// MemberPage is one page of members.
type MemberPage struct {
	Members    []MemberRow `json:"members"`
	NextCursor string      `json:"nextCursor,omitempty"`
}

// Members lists an account's members by email (GSI2), with each one's name
// and status read in one BatchGetItem. Role, licence and external filters
// run in the Query, so a filtered page may come back shorter than asked,
// with a cursor.
func (d *Directory) Members(ctx context.Context, q MemberQuery) (MemberPage, error) {
	if !ValidID(q.AccountID) {
		return MemberPage{}, apperr.ErrNotFound.Withf("no account %q", q.AccountID)
	}
	if err := d.Access.Require(ctx, q.Caller, access.ReadUsers, q.AccountID); err != nil {
		return MemberPage{}, fmt.Errorf("list members of %s: %w", q.AccountID, err)
	}
	t := q.Caller.Tenant
	ix := t.AccountMembersByEmail(q.AccountID, q.Email, "")
	query := store.Query{Index: table.GSI2, Partition: ix.PK, SKPrefix: table.MembersEmailPrefix + q.Email, Newest: q.Desc}
	if filter, ok := memberFilter(q); ok {
		query.Filter = &filter
	}
	items, next, err := readSegments(ctx, d.Store, []store.Query{query}, q.Limit, q.Cursor)
	if err != nil {
		return MemberPage{}, fmt.Errorf("list members of %s: %w", q.AccountID, err)
	}
	ms, err := decodeAll[accounts.Membership](items)
	if err != nil {
		return MemberPage{}, err
	}
	rows, err := d.memberRows(ctx, t, ms)
	if err != nil {
		return MemberPage{}, err
	}
	return MemberPage{Members: rows, NextCursor: next}, nil
}

func memberFilter(q MemberQuery) (expression.ConditionBuilder, bool) {
	var conds []expression.ConditionBuilder
	if q.Role != "" {
		conds = append(conds, expression.Name("roles").Contains(q.Role))
	}
	switch q.Licence {
	case "":
	case NoLicence:
		conds = append(conds, expression.AttributeNotExists(expression.Name("licence")))
	default:
		conds = append(conds, expression.Name("licence").Equal(expression.Value(q.Licence)))
	}
	if q.External != nil {
		if *q.External {
			conds = append(conds, expression.Name("external").Equal(expression.Value(true)))
		} else {
			conds = append(conds, expression.AttributeNotExists(expression.Name("external")).
				Or(expression.Name("external").Equal(expression.Value(false))))
		}
	}
	if len(conds) == 0 {
		return expression.ConditionBuilder{}, false
	}
	c := conds[0]
	for _, more := range conds[1:] {
		c = c.And(more)
	}
	return c, true
}

func (d *Directory) memberRows(ctx context.Context, t table.Tenant, ms []accounts.Membership) ([]MemberRow, error) {
	keys := make([]table.Key, 0, len(ms))
	for _, m := range ms {
		keys = append(keys, t.User(m.UserID))
	}
	got, err := getAll(ctx, d.Store, keys)
	if err != nil {
		return nil, fmt.Errorf("read members' profiles: %w", err)
	}
	rows := make([]MemberRow, 0, len(ms))
	for _, m := range ms {
		r := MemberRow{UserID: m.UserID, Email: m.Email, Roles: slices.Sorted(slices.Values(m.Roles)), Licence: m.Licence,
			External: m.External, JoinedAt: m.CreatedAt, Version: m.Version, Status: StatusDeleted}
		if r.Roles == nil {
			r.Roles = []string{}
		}
		if it, ok := got[t.User(m.UserID)]; ok {
			var u identity.User
			if err := attributevalue.UnmarshalMap(it, &u); err != nil {
				return nil, apperr.Internal("decode user", err)
			}
			r.FirstName, r.LastName, r.Status = u.FirstName, u.LastName, u.Status
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// MembersCSV renders rows as the member export.
func MembersCSV(rows []MemberRow) *csvexport.Sheet {
	sheet := csvexport.New("user_id", "email", "first_name", "last_name", "status", "roles", "licence", "external", "joined_at")
	for _, r := range rows {
		sheet.Row(r.UserID, r.Email, r.FirstName, r.LastName, r.Status, strings.Join(r.Roles, ";"), r.Licence,
			fmt.Sprint(r.External), r.JoinedAt.UTC().Format(time.RFC3339))
	}
	return sheet
}
