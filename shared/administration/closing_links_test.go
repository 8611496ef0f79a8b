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
	if _, err := links.New(w.env.Service()).LinkExisting(ctx, op, parent, child); err != nil {
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

// Wiping a linked child takes it out of its parent's family in the same
// transaction as its account item: the link is gone, the parent's
// childCount is back to 0 (it is no parent any more, so it may even
// become a child), the parent's change log says why, and its child slot is
// free for another child.
func TestWipingAChildLeavesItsParent(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	parent := w.env.AddAccount(t, w.ten, "Family Parent")
	child := w.env.AddAccount(t, w.ten, "Wiped Child")
	next := w.env.AddAccount(t, w.ten, "Next Child")
	op := w.operator(t)
	lk := links.New(w.env.Service())
	if _, err := lk.LinkExisting(ctx, op, parent, child); err != nil {
		t.Fatal(err)
	}
	res, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: child, ConfirmName: "Wiped Child", Wipe: true})
	wantKind(t, "wipe the child", err, ok)
	if !res.Complete {
		t.Fatalf("wipe: %+v", res)
	}
	if got := w.account(t, parent).ChildCount; got != 0 {
		t.Fatalf("the parent still counts %d children after its child was wiped", got)
	}
	if w.exists(t, w.ten.AccountLink(parent, child)) {
		t.Fatal("the link to the wiped child is left")
	}
	if len(w.changes(t, parent, "account.child_unlinked")) != 1 {
		t.Fatal("the parent's change log does not say its child left")
	}
	fam, err := lk.Family(ctx, op, parent)
	wantKind(t, "family", err, ok)
	if fam.Role != links.RoleUnlinked || len(fam.Children) != 0 {
		t.Fatalf("the parent's family after the wipe: %+v", fam)
	}
	linked, err := lk.LinkExisting(ctx, op, parent, next)
	wantKind(t, "relink another child", err, ok)
	if len(linked.Family.Children) != 1 || linked.Family.Children[0].ID != next || w.account(t, parent).ChildCount != 1 {
		t.Fatalf("after relinking: %+v, childCount %d", linked.Family, w.account(t, parent).ChildCount)
	}
}

// A child closed and kept stays linked until it is wiped; wiping an
// unlinked account leaves every family alone.
func TestWipingAnUnlinkedAccountLeavesFamiliesAlone(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	parent := w.env.AddAccount(t, w.ten, "Other Parent")
	child := w.env.AddAccount(t, w.ten, "Other Child")
	loner := w.env.AddAccount(t, w.ten, "Loner")
	op := w.operator(t)
	if _, err := links.New(w.env.Service()).LinkExisting(ctx, op, parent, child); err != nil {
		t.Fatal(err)
	}
	_, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: child, ConfirmName: "Other Child"})
	wantKind(t, "close the child, keeping it", err, ok)
	if w.account(t, parent).ChildCount != 1 || !w.exists(t, w.ten.AccountLink(parent, child)) {
		t.Fatal("closing a child without wiping it unlinked it")
	}
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: loner, ConfirmName: "Loner", Wipe: true})
	wantKind(t, "wipe an unlinked account", err, ok)
	if w.account(t, parent).ChildCount != 1 {
		t.Fatal("wiping an unlinked account changed another family")
	}
	_, err = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: op, AccountID: child, ConfirmName: "Other Child", Wipe: true})
	wantKind(t, "wipe the closed child", err, ok)
	if w.account(t, parent).ChildCount != 0 || w.exists(t, w.ten.AccountLink(parent, child)) {
		t.Fatal("wiping a closed, kept child left it in its parent's family")
	}
}
