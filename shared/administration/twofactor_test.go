package administration_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/twofactor"
)

func (w *world) enrolled(t *testing.T, userID string) {
	t.Helper()
	k := w.ten.TwoFactor(userID)
	if err := w.env.Store.Do(ctx, "enrol", store.Put(twofactor.Factors{PK: k.PK, SK: k.SK, Type: "TWOFACTOR", UserID: userID,
		TOTP: "v1.not.opened", Recovery: []string{"a-hash"}})); err != nil {
		t.Fatal(err)
	}
}

// An admin's reset of a user's second factor is authorised as their
// password set: users.edit over the user, operators only by operators,
// never oneself; it is logged without a secret.
func TestResetTwoFactor(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	member, memberCaller := w.member(t, w.ten.AccountID, "member@reset.example", access.RoleViewer)
	w.enrolled(t, member.ID)

	wantKind(t, "a viewer resets another's", w.adm.ResetTwoFactor(ctx, memberCaller, w.ten.AdminID), apperr.KindForbidden)
	wantKind(t, "an admin resets their own", w.adm.ResetTwoFactor(ctx, w.admin(), w.ten.AdminID), apperr.KindConflict, "not_yourself")
	if err := w.adm.ResetTwoFactor(ctx, w.admin(), member.ID); err != nil {
		t.Fatal(err)
	}
	if w.exists(t, w.ten.TwoFactor(member.ID)) {
		t.Fatal("the second factor is still there")
	}
	logs := w.changes(t, w.ten.AccountID, "user.two_factor_reset")
	if len(logs) != 1 || logs[0].SubjectID != member.ID {
		t.Fatalf("change log = %+v", logs)
	}
	wantKind(t, "nothing left to reset", w.adm.ResetTwoFactor(ctx, w.admin(), member.ID), apperr.KindNotFound, "two_factor_not_enrolled")

	// An operator who is a member of the account: its Admin may not reset
	// them; another operator may.
	op, _ := w.member(t, w.ten.AccountID, "op@reset.example", access.RoleViewer)
	if err := w.env.Store.Do(ctx, "make operator", store.Update(w.ten.User(op.ID), expression.Set(expression.Name("operator"), expression.Value(true)))); err != nil {
		t.Fatal(err)
	}
	w.enrolled(t, op.ID)
	wantKind(t, "an admin resets an operator's", w.adm.ResetTwoFactor(ctx, w.admin(), op.ID), apperr.KindForbidden, "operator_protected")
	if !w.exists(t, w.ten.TwoFactor(op.ID)) {
		t.Fatal("a refused reset removed the operator's second factor")
	}
	if err := w.adm.ResetTwoFactor(ctx, w.operator(t), op.ID); err != nil {
		t.Fatalf("an operator resets an operator's: %v", err)
	}
}

// Deleting a user deletes their second factors in the same transaction as
// the tombstone, however the user is deleted: one, in bulk, or by removing
// them from their only account.
func TestDeletingAUserDeletesTheirSecondFactors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	one, _ := w.member(t, w.ten.AccountID, "one@deleted.example", access.RoleViewer)
	bulk, _ := w.member(t, w.ten.AccountID, "bulk@deleted.example", access.RoleViewer)
	only, _ := w.member(t, w.ten.AccountID, "only@deleted.example", access.RoleViewer)
	for _, id := range []string{one.ID, bulk.ID, only.ID} {
		w.enrolled(t, id)
	}
	if err := w.adm.DeleteUser(ctx, w.admin(), one.ID); err != nil {
		t.Fatal(err)
	}
	rep := w.adm.DeleteUsers(ctx, administration.DeleteUsers{Caller: w.admin(), UserIDs: []string{bulk.ID}}, func(apperr.Kind) int { return 500 })
	if rep.Deleted != 1 {
		t.Fatalf("bulk delete: %+v", rep)
	}
	if err := w.adm.RemoveMembership(ctx, w.admin(), w.ten.AccountID, only.ID); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{one.ID, bulk.ID, only.ID} {
		if w.user(t, id).Status != identity.UserDeleted {
			t.Fatalf("user %s is not deleted", id)
		}
		if w.exists(t, w.ten.TwoFactor(id)) {
			t.Fatalf("the second factors of deleted user %s are still there", id)
		}
	}
}
