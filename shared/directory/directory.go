// Package directory reads the tenant's accounts and people: the account
// directory (sorted, searched, paged, exported), an account's members, a
// user's profile, the change log and the access history. It only reads;
// shared/administration changes things.
//
// No list scans. Each list is one or two Queries on keys built in
// shared/table:
//   - accounts by name: GSI2 table.AccountsByName (every account carries it);
//     a name prefix is begins_with on the same index;
//   - accounts by creation instant: GSI1 table.AccountsByCreated;
//   - accounts by status: the active accounts by name (GSI2, a filter drops
//     the closed ones) and the register of closed accounts by name
//     (table.ClosedAccount, which holds only closed accounts), one after the
//     other;
//   - accounts by a member's email, for operators: the users directory by
//     email prefix (GSI2 table.UsersByEmail), each match's memberships (GSI1
//     table.UserAccounts), their accounts (one BatchGetItem); for anyone
//     else: their own memberships (GSI1), and in each account whose users
//     they may read, its members by email prefix (GSI2);
//   - an account's users (members and pending invitations, in one stream):
//     by email, GSI2 table.AccountMembersByEmail and AccountInvitationByEmail;
//     by name, GSI4 table.AccountMembersByName; a name search, GSI4 then
//     GSI5 table.AccountMembersByFirstName; then one BatchGetItem for the
//     members' names and statuses.
//
// A page of n therefore reads about n items whatever the size of the tenant.
//
// What a reader sees of a user (data minimisation). Who may read a user at
// all is access.RequireOverUser's rule; how much they then see:
//   - the whole user (the profile, the change log and access history in
//     every account): the user themselves, tenant operators (an operator
//     reads a customer's profile only while switched into the user's home
//     account: users.read is work inside the account; the change log and
//     access history are audit, tenant administration, read without a
//     switch), and members of the user's home account who hold the read
//     there;
//   - only the user's share in one account: a member of the account their
//     session is in, where the user is a member too but has their home
//     elsewhere (an Admin reading an external consultant). The profile
//     then shows neither the home account, the phone nor the time zone (no
//     more than the account's users list shows, with the user's status),
//     and the change log and access history only that account's entries.
//     Memberships of other accounts are never listed by the directory.
//   - the phone (used for two-factor codes) and time zone, personal
//     settings: the user, and those who may edit the user (users.edit over
//     them: their home account's Admins, operators switched into it,
//     operators for operators and for users without a home account).
//   - an access entry's IP address and user agent: the user, operators, the
//     Admins (the built-in role, access.Authority.Admin) of the user's home
//     account for every entry, and the Admins of the account an entry is
//     about for that entry. Viewers and custom roles, even with audit.read,
//     see when and where, not from which address or browser.
package directory

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/service"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// Directory answers the read-only questions of the administration screens.
type Directory struct {
	Store  *store.Store
	Clock  clock.Clock
	Access access.Checker
}

// New builds the directory over d's store.
func New(d service.Deps) *Directory {
	return &Directory{Store: d.Store, Clock: d.Clock, Access: access.Checker{Store: d.Store}}
}

func decodeAll[T any](items []map[string]types.AttributeValue) ([]T, error) {
	out := make([]T, 0, len(items))
	if err := attributevalue.UnmarshalListOfMaps(items, &out); err != nil {
		return nil, apperr.Internal("decode items", err)
	}
	return out, nil
}

// getAll reads any number of items, 100 per BatchGetItem.
func getAll(ctx context.Context, s *store.Store, keys []table.Key) (map[table.Key]map[string]types.AttributeValue, error) {
	out := map[table.Key]map[string]types.AttributeValue{}
	for start := 0; start < len(keys); start += 100 {
		part, err := s.GetMany(ctx, keys[start:min(start+100, len(keys))])
		if err != nil {
			return nil, err
		}
		for k, v := range part {
			out[k] = v
		}
	}
	return out, nil
}
