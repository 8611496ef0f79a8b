package administration_test

import (
	"testing"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/links"
)

// Closing a parent unlinks its children and keeps them, recorded in each
// child's change log.
func TestClosingAParentUnlinksItsChildren(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	parent := w.env.AddAccount(t, w.ten, "Parent Co")
	child := w.env.AddAccount(t, w.ten, "Child Co")
	op := w.operator(t)
	if _, err := links.New(w.env.Deps).LinkExisting(ctx, op, parent, child); err != nil {
		t.Fatal(err)
	}
	w.member(t, parent, "admin@parent.example", access.RoleAdmin)
	cmd, err := administration.CloseAccountRequest{ConfirmName: "Parent Co"}.Command(op, parent)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.adm.CloseAccount(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	kept := w.account(t, child)
	if kept.ParentID != "" || kept.Status != "active" {
		t.Fatalf("child after its parent closed: parent %q, status %s", kept.ParentID, kept.Status)
	}
	if w.account(t, parent).ChildCount != 0 {
		t.Fatal("the closed parent still counts children")
	}
	if len(w.changes(t, child, "account.unlinked")) != 1 {
		t.Fatal("the unlink is not in the child's change log")
	}
}
