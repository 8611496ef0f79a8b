package handler_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/domainevents"
)

// marker makes one more change in the tenant's first account and waits
// for its event: the stream keeps each partition's order, so once it is
// out, every earlier change of that account's log is out too.
func (w *world) marker(t *testing.T, adminToken string) []event {
	t.Helper()
	name := fmt.Sprintf("Marker %d", time.Now().UnixNano())
	w.must(t, 200, "PATCH", "/users/"+w.ten.AdminID, adminToken, map[string]string{"firstName": name})
	return waitFor(t, w.ten.ID(), func(evs []event) bool {
		return slices.ContainsFunc(evs, func(e event) bool {
			return e.DetailType == "user.profile_changed" && fmt.Sprint(e.D.After["firstName"]) == name
		})
	})
}

func TestEachKindOfChangeIsExactlyOneEvent(t *testing.T) {
	t.Parallel()
	type want struct {
		action, log, subjectType, subjectID, accountID string
	}
	cases := []struct {
		name   string
		change func(t *testing.T, w *world, admin string) (want, []string) // and the secrets the change used
	}{
		{"a tenant's bootstrap", func(t *testing.T, w *world, admin string) (want, []string) {
			return want{"tenant.bootstrapped", "account", "user", w.ten.AdminID, w.ten.AccountID}, nil
		}},
		{"an account renamed", func(t *testing.T, w *world, admin string) (want, []string) {
			w.must(t, 200, "PATCH", "/accounts/"+w.ten.AccountID, admin, map[string]string{"name": "Renamed"})
			return want{"account.renamed", "account", "account", w.ten.AccountID, w.ten.AccountID}, nil
		}},
		{"an invitation accepted", func(t *testing.T, w *world, admin string) (want, []string) {
			out := w.must(t, 201, "POST", "/accounts/"+w.ten.AccountID+"/invitations", admin,
				map[string]any{"emails": []string{"grace@" + w.ten.ID() + ".example"}, "roles": []string{"Viewer"}, "sendEmail": false})
			token := tokenOf(find(out, "acceptUrl"))
			password := "Cobol-Compiler-1952!"
			acc := w.must(t, 201, "POST", "/invitations/accept", "", map[string]string{"token": token, "firstName": "Grace", "lastName": "Hopper", "password": password})
			return want{"invitation.accepted", "account", "user", find(acc, "userId"), w.ten.AccountID}, []string{token, password, find(acc, "token")}
		}},
		{"a membership removed", func(t *testing.T, w *world, admin string) (want, []string) {
			other := w.env.AddAccount(t, w.ten, "Other")
			u := w.env.AddUser(t, w.ten, other, "leaver@"+w.ten.ID()+".example", "", access.RoleViewer)
			w.env.AddMembership(t, w.ten, w.ten.AccountID, u.ID, u.Email, access.RoleViewer)
			w.must(t, 204, "DELETE", "/accounts/"+w.ten.AccountID+"/users/"+u.ID, admin, nil)
			return want{"membership.removed", "account", "user", u.ID, w.ten.AccountID}, nil
		}},
		{"roles changed", func(t *testing.T, w *world, admin string) (want, []string) {
			u := w.env.AddUser(t, w.ten, w.ten.AccountID, "viewer@"+w.ten.ID()+".example", "", access.RoleViewer)
			w.must(t, 200, "PUT", "/accounts/"+w.ten.AccountID+"/users/"+u.ID+"/roles", admin, map[string]any{"roles": []string{"Admin"}})
			return want{"membership.roles_changed", "account", "user", u.ID, w.ten.AccountID}, nil
		}},
		{"a user suspended", func(t *testing.T, w *world, admin string) (want, []string) {
			u := w.env.AddUser(t, w.ten, w.ten.AccountID, "suspended@"+w.ten.ID()+".example", "", access.RoleViewer)
			w.must(t, 200, "POST", "/users/"+u.ID+"/suspend", admin, nil)
			return want{"user.suspended", "account", "user", u.ID, w.ten.AccountID}, nil
		}},
		{"a user deleted", func(t *testing.T, w *world, admin string) (want, []string) {
			u := w.env.AddUser(t, w.ten, w.ten.AccountID, "deleted@"+w.ten.ID()+".example", "", access.RoleViewer)
			w.must(t, 204, "DELETE", "/users/"+u.ID, admin, nil)
			return want{"user.deleted", "account", "user", u.ID, w.ten.AccountID}, nil
		}},
		{"content reassigned", func(t *testing.T, w *world, admin string) (want, []string) {
			u := w.env.AddUser(t, w.ten, w.ten.AccountID, "owner@"+w.ten.ID()+".example", "", access.RoleAdmin)
			w.must(t, 201, "POST", "/accounts/"+w.ten.AccountID+"/content", admin, map[string]string{"type": "automation", "name": "Sync", "ownerId": u.ID})
			status, out := w.do(t, "POST", "/users/"+u.ID+"/reassign-content", admin, map[string]string{"targetUserId": w.ten.AdminID})
			if status != 200 && status != 201 && status != 202 {
				t.Fatalf("reassign: %d %v", status, out)
			}
			return want{"content.reassigned", "account", "user", u.ID, w.ten.AccountID}, nil
		}},
		{"usage reset", func(t *testing.T, w *world, admin string) (want, []string) {
			w.must(t, 200, "POST", "/accounts/"+w.ten.AccountID+"/usage/reset", w.operator(t), nil)
			return want{"usage.reset", "account", "account", w.ten.AccountID, w.ten.AccountID}, nil
		}},
		{"an account closed, in its log", func(t *testing.T, w *world, admin string) (want, []string) {
			a := w.env.AddAccount(t, w.ten, "Closing")
			w.must(t, 200, "POST", "/accounts/"+a+"/close", w.operator(t), map[string]any{"confirmName": "Closing", "wipe": false})
			return want{"account.closed", "account", "account", a, a}, nil
		}},
		{"an account closed, in the tenant's log", func(t *testing.T, w *world, admin string) (want, []string) {
			a := w.env.AddAccount(t, w.ten, "Closing")
			w.must(t, 200, "POST", "/accounts/"+a+"/close", w.operator(t), map[string]any{"confirmName": "Closing", "wipe": false})
			return want{"account.closed", "tenant", "account", a, a}, nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// GIVEN a tenant, its admin signed in
			w := newWorld(t)
			admin := w.signIn(t, w.ten.AdminEmail, w.ten.AdminPassword)
			// WHEN the change is made
			wt, secrets := tc.change(t, w, admin)
			// THEN exactly one event of its detail-type and log comes out
			waitFor(t, w.ten.ID(), func(evs []event) bool { return count(evs, having(wt.action, wt.log)) > 0 })
			evs := w.marker(t, admin)
			if n := count(evs, having(wt.action, wt.log)); n != 1 {
				t.Fatalf("%d events %s in the %s log, want 1: %v", n, wt.action, wt.log, actions(evs))
			}
			i := slices.IndexFunc(evs, having(wt.action, wt.log))
			e := evs[i]
			// AND it names the service, the tenant, the account, the subject and the entry
			if e.Source != domainevents.Source || e.D.Action != wt.action || e.D.Tenant != w.ten.ID() ||
				e.D.AccountID != wt.accountID || e.D.Subject.Type != wt.subjectType || e.D.Subject.ID != wt.subjectID ||
				len(e.D.ID) != 26 || e.D.Actor.Kind == "" {
				t.Errorf("event = %+v, want %+v", e.D, wt)
			}
			// AND its time is the change's
			if !e.D.At.Equal(w.env.Clock.Now().Truncate(time.Millisecond)) && e.D.At.After(w.env.Clock.Now()) {
				t.Errorf("at = %v, after the clock's %v", e.D.At, w.env.Clock.Now())
			}
			// AND every event of the tenant is valid by its published schema
			validate(t, evs)
			// AND no event of the tenant holds a secret the change used
			for _, ev := range evs {
				for _, s := range append(secrets, w.ten.AdminPassword) {
					if s != "" && strings.Contains(string(ev.Detail), s) {
						t.Errorf("event %s holds a secret", ev.DetailType)
					}
				}
			}
		})
	}
}

func TestAChangeThatFailsItsTransactionProducesNoEvent(t *testing.T) {
	t.Parallel()
	// GIVEN an invitation
	w := newWorld(t)
	admin := w.signIn(t, w.ten.AdminEmail, w.ten.AdminPassword)
	out := w.must(t, 201, "POST", "/accounts/"+w.ten.AccountID+"/invitations", admin,
		map[string]any{"emails": []string{"race@" + w.ten.ID() + ".example"}, "roles": []string{"Viewer"}, "sendEmail": false})
	token := tokenOf(find(out, "acceptUrl"))
	// WHEN eight people accept it at the same moment (one transaction
	// commits; the others fail their conditions)
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _ = w.do(t, "POST", "/invitations/accept", "", map[string]string{"token": token,
				"firstName": "Race", "lastName": fmt.Sprint(i), "password": "Cobol-Compiler-1952!"})
		}()
	}
	wg.Wait()
	if n := count201(statuses); n != 1 {
		t.Fatalf("%d accepts succeeded (%v), want 1", n, statuses)
	}
	// THEN exactly one invitation.accepted event comes out, and no user of
	// a failed accept is named anywhere
	evs := w.marker(t, admin)
	if n := count(evs, having("invitation.accepted", "account")); n != 1 {
		t.Fatalf("%d invitation.accepted events, want 1: %v", n, actions(evs))
	}
	validate(t, evs)
}

func count201(statuses []int) int {
	n := 0
	for _, s := range statuses {
		if s == 201 {
			n++
		}
	}
	return n
}

func TestARefusedEntryIsPutAgainAloneAndTheRestOnlyOnce(t *testing.T) {
	t.Parallel()
	// GIVEN EventBridge refusing the entry of one change five times: more
	// than one invocation's attempts, so its record goes back to the stream
	w := newWorld(t)
	admin := w.signIn(t, w.ten.AdminEmail, w.ten.AdminPassword)
	faults.failFor(w.ten.ID(), 5, func(d domainevents.Detail) bool {
		return d.Action == "account.renamed" && fmt.Sprint(d.After["name"]) == "Name 3"
	})
	// WHEN the account is renamed eight times
	for i := 1; i <= 8; i++ {
		w.must(t, 200, "PATCH", "/accounts/"+w.ten.AccountID, admin, map[string]string{"name": fmt.Sprintf("Name %d", i)})
	}
	waitFor(t, w.ten.ID(), func(evs []event) bool { return len(uniqueRenames(evs)) >= 8 })
	w.marker(t, admin)
	evs := eventsOf(w.ten.ID(), bus.Events())
	renames := uniqueRenames(evs)
	refusedID := renames["Name 3"]
	if len(renames) != 8 || refusedID == "" {
		t.Fatalf("renames on the bus: %v", renames)
	}
	// THEN the refused entry was sent six times (so across two
	// invocations: the stream gave its record back), and no entry was sent
	// again but the refused one and those put after it in its call (a
	// record given back comes again with every later record of its batch)
	calls := faults.callsOf(w.ten.ID())
	mayRepeat := map[string]bool{refusedID: true}
	sent := map[string]int{}
	for _, call := range calls {
		if i := slices.Index(call, refusedID); i >= 0 {
			for _, id := range call[i+1:] {
				mayRepeat[id] = true
			}
		}
		for _, id := range call {
			sent[id]++
		}
	}
	if sent[refusedID] != 6 {
		t.Errorf("the refused entry was sent %d times, want 6", sent[refusedID])
	}
	for id, n := range sent {
		if n > 1 && !mayRepeat[id] {
			t.Errorf("entry %s was sent %d times, want once", id, n)
		}
	}
	// AND each rename is on the bus, and twice only if it was sent twice
	onBus := map[string]int{}
	for _, e := range evs {
		onBus[e.D.ID]++
	}
	for _, id := range renames {
		if onBus[id] > 1 && !mayRepeat[id] {
			t.Errorf("entry %s on the bus %d times", id, onBus[id])
		}
	}
	validate(t, evs)
}

// uniqueRenames is the account.renamed entries by new name.
func uniqueRenames(evs []event) map[string]string {
	out := map[string]string{}
	for _, e := range evs {
		if e.DetailType == "account.renamed" {
			out[fmt.Sprint(e.D.After["name"])] = e.D.ID
		}
	}
	return out
}

func TestAThousandChangesOfOneAccountArriveInOrder(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.signIn(t, w.ten.AdminEmail, w.ten.AdminPassword)
	// GIVEN 1,000 changes of one account, committed one after another
	const n = 1000
	a := w.ten.AccountID
	for i := 0; i < n; i++ {
		w.must(t, 200, "PATCH", "/accounts/"+a, admin, map[string]string{"name": fmt.Sprintf("Name %04d", i)})
	}
	// THEN they arrive on the bus in the order they were committed (a
	// consumer de-duplicates on detail.id: another tenant's refused entry
	// can make its batch come again)
	evs := waitFor(t, w.ten.ID(), func(evs []event) bool { return len(uniqueRenames(evs)) >= n })
	next := 0
	seen := map[string]bool{}
	for _, e := range evs {
		if e.DetailType != "account.renamed" || seen[e.D.ID] {
			continue
		}
		seen[e.D.ID] = true
		if got := fmt.Sprint(e.D.After["name"]); got != fmt.Sprintf("Name %04d", next) {
			for _, x := range evs {
				t.Logf("%s %s %v", x.DetailType, x.D.ID, x.D.After["name"])
			}
			t.Fatalf("event %d is %q, want Name %04d", next, got, next)
		}
		next++
	}
	if next != n {
		t.Fatalf("%d renames, want %d", next, n)
	}
	validate(t, evs)
}
