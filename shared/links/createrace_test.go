package links_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/links"
)

// One operator creating 20 children of one parent at once: all succeed (the
// transaction holds the parent by its status and child count, not by the
// version each creation bumps), and the parent counts all 20.
func TestConcurrentChildCreationsByOneOperatorAllSucceed(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = w.svc.CreateChild(context.Background(), links.CreateChildCommand{Caller: w.operator, ParentID: w.ten.AccountID, Name: fmt.Sprintf("Branch %02d", i)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("creation %d: %v", i, err)
		}
	}
	fam, err := w.svc.Family(context.Background(), w.operator, w.ten.AccountID)
	if err != nil {
		t.Fatal(err)
	}
	var parent accounts.Account
	if _, err := w.env.Store.Get(context.Background(), w.ten.Account(w.ten.AccountID), &parent); err != nil {
		t.Fatal(err)
	}
	if len(fam.Children) != n || parent.ChildCount != n {
		t.Fatalf("family of %d children, childCount %d; want %d", len(fam.Children), parent.ChildCount, n)
	}
}
