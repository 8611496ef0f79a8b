package invitations

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// LeaveAccount takes accountID, the at-th of its accounts, out of the
// invitation id (and out of the accounts where its inviter acted as
// support), for the wipe of that account when the invitation stays for its
// other accounts. It is conditioned on the account still being at that
// place in the list, so two wipes of two of its accounts at once never
// remove the wrong one (one fails; repeating it reads the list again).
func LeaveAccount(t table.Tenant, id string, at int, accountID string) *store.Write {
	place := fmt.Sprintf("accountIds[%d]", at)
	leave := store.BumpVersion().Remove(expression.Name(place)).
		Delete(expression.Name("inviterSupport"), expression.Value(&types.AttributeValueMemberSS{Value: []string{accountID}}))
	return store.Update(t.Invitation(id), leave).If(store.Is(place, accountID))
}
