package administration_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/apperr"
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
