package accounts_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/associates"
	"github.com/acme/accountadmin/shared/content"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/testkit"
	"github.com/acme/accountadmin/shared/usage"
)

// closeWorld is one tenant with an operator, and the services twice: on
// the plain store, and on a store whose next transaction first runs a hook
// (testkit.CommitGate), which puts a close exactly between a write's
// checks and its commit.
type closeWorld struct {
	env  *testkit.Env
	ten  testkit.Tenant
	op   access.Caller
	gate *testkit.CommitGate
	adm  *administration.Service // plain
	// on the gated store
	gAdm   *administration.Service
	gInv   *invitations.Service
	gCont  *content.Service
	gUse   *usage.Service
	gAssoc *associates.Service
}

func newCloseWorld(t *testing.T) *closeWorld {
	env := testkit.New(t)
	w := &closeWorld{env: env, ten: env.NewTenant(t), adm: administration.New(env.Service())}
	w.gate = &testkit.CommitGate{DynamoDB: env.DB}
	gated := env.Deps
	gated.Store = store.New(w.gate, env.Config.Table)
	w.gAdm, w.gInv, w.gCont = administration.New(gated.Service()), invitations.New(gated.Service()), content.New(gated.Service())
	w.gUse, w.gAssoc = usage.New(gated.Service()), associates.New(gated.Service())
	now := env.Clock.Now()
	u := identity.NewUser(w.ten.Tenant, identity.User{ID: env.IDs.NewID(), Email: "support@ops.example", FirstName: "Sam", LastName: "Support",
		Status: identity.UserActive, Operator: true, CreatedAt: now, UpdatedAt: now})
	if err := env.Store.Transact(ctx, "add operator", store.Put(u), store.Put(identity.NewEmailClaim(w.ten.Tenant, u.Email, u.ID))); err != nil {
		t.Fatal(err)
	}
	w.op = access.Caller{Tenant: w.ten.Tenant, UserID: u.ID, SessionID: "s-" + u.ID, AccountID: w.ten.AccountID, Operator: true,
		Name: "Sam Support", Email: u.Email}
	return w
}

// support is the operator switched into accountID with a reason: every
// account action there.
func (w *closeWorld) support(accountID string) access.Caller {
	c := w.op
	c.AccountID, c.SupportReason = accountID, "ticket 4711"
	return c
}

func (w *closeWorld) closeAccount(t *testing.T, accountID, name string) {
	t.Helper()
	if _, err := w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: w.op, AccountID: accountID, ConfirmName: name}); err != nil {
		t.Errorf("close %s: %v", accountID, err)
	}
}

// partition is every item of the account's partition, by sort key, but
// its hourly invitation counters (QUOTA#): an invitation refused after its
// reservation gives its count back, best effort, which is no change of the
// account's data.
func (w *closeWorld) partition(t *testing.T, accountID string) map[string]map[string]types.AttributeValue {
	t.Helper()
	items, err := w.env.Store.QueryAll(ctx, store.Query{Partition: w.ten.AccountPartition(accountID)}, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]map[string]types.AttributeValue, len(items))
	for _, it := range items {
		if sk := store.KeyOf(it).SK; !strings.HasPrefix(sk, "QUOTA#") {
			out[sk] = it
		}
	}
	return out
}

// A write whose checks read the account open, and which commits after the
// account was closed, is refused with 409 account_closed and leaves the
// closed account exactly as the close left it: for each kind of write into
// an account, the close is put between the write's checks and its commit.
// Without accounts.Open in the write's transaction every case commits.
func TestAWriteRacingACloseNeverLandsInTheClosedAccount(t *testing.T) {
	t.Parallel()
	w := newCloseWorld(t)
	no := false
	cases := []struct {
		name string
		// prepare sets up what the write needs in account a and returns it.
		prepare func(t *testing.T, a string) func() error
	}{
		{"invite", func(t *testing.T, a string) func() error {
			cmd, err := invitations.InviteRequest{Emails: []string{"new@race.example"}, SendEmail: &no}.Command(w.support(a), a)
			if err != nil {
				t.Fatal(err)
			}
			return func() error { _, err := w.gInv.Invite(ctx, cmd); return err }
		}},
		{"revoke an invitation", func(t *testing.T, a string) func() error {
			cmd, _ := invitations.InviteRequest{Emails: []string{"revoked@race.example"}, SendEmail: &no}.Command(w.support(a), a)
			res, err := invitations.New(w.env.Service()).Invite(ctx, cmd)
			if err != nil {
				t.Fatal(err)
			}
			id := res.Results[0].InvitationID
			return func() error {
				return w.gInv.Revoke(ctx, invitations.RevokeCommand{Caller: w.support(a), InvitationID: id})
			}
		}},
		{"set roles", func(t *testing.T, a string) func() error {
			u := w.env.AddUser(t, w.ten, a, "member-"+a+"@race.example", "", access.RoleViewer)
			return func() error {
				_, err := w.gAdm.SetRoles(ctx, administration.SetRoles{Caller: w.support(a), AccountID: a, UserID: u.ID, Roles: []string{access.RoleAdmin}})
				return err
			}
		}},
		{"remove a licence", func(t *testing.T, a string) func() error {
			u := w.env.AddUser(t, w.ten, a, "licensed-"+a+"@race.example", "", access.RoleViewer)
			return func() error {
				_, err := w.gAdm.AssignLicence(ctx, administration.AssignLicence{Caller: w.support(a), AccountID: a, UserID: u.ID})
				return err
			}
		}},
		{"remove a membership", func(t *testing.T, a string) func() error {
			home := w.env.AddAccount(t, w.ten, "Home of "+a)
			u := w.env.AddUser(t, w.ten, home, "leaving-"+a+"@race.example", "", access.RoleViewer)
			w.env.AddMembership(t, w.ten, a, u.ID, "leaving-"+a+"@race.example", access.RoleViewer)
			return func() error { return w.gAdm.RemoveMembership(ctx, w.support(a), a, u.ID) }
		}},
		{"buy seats", func(t *testing.T, a string) func() error {
			return func() error {
				_, err := w.gAdm.SetSeats(ctx, administration.SetSeats{Caller: w.op, AccountID: a, Licence: "office", Purchased: 5})
				return err
			}
		}},
		{"set plan overrides", func(t *testing.T, a string) func() error {
			return func() error {
				_, err := w.gAdm.SetAccountPlan(ctx, administration.SetAccountPlan{Caller: w.op, AccountID: a, Seats: map[string]int64{"licence:office": 3}})
				return err
			}
		}},
		{"rename", func(t *testing.T, a string) func() error {
			return func() error {
				_, err := w.gAdm.RenameAccount(ctx, administration.RenameAccount{Caller: w.support(a), AccountID: a, Name: "Renamed " + a})
				return err
			}
		}},
		{"register content", func(t *testing.T, a string) func() error {
			u := w.env.AddUser(t, w.ten, a, "owner-"+a+"@race.example", "", access.RoleViewer)
			return func() error {
				_, err := w.gCont.Register(ctx, content.RegisterCommand{Caller: w.support(a), AccountID: a, Type: "automation", Name: "Nightly", OwnerID: u.ID})
				return err
			}
		}},
		{"record usage", func(t *testing.T, a string) func() error {
			return func() error {
				_, err := w.gUse.Record(ctx, usage.RecordCommand{Caller: w.support(a), AccountID: a, Metric: "tasks", Amount: 1})
				return err
			}
		}},
		{"reset usage", func(t *testing.T, a string) func() error {
			if _, err := usage.New(w.env.Service()).Record(ctx, usage.RecordCommand{Caller: w.support(a), AccountID: a, Metric: "tasks", Amount: 3}); err != nil {
				t.Fatal(err)
			}
			return func() error { _, err := w.gUse.Reset(ctx, w.op, a); return err }
		}},
		{"associate", func(t *testing.T, a string) func() error {
			home := w.env.AddAccount(t, w.ten, "Consultancy of "+a)
			u := w.env.AddUser(t, w.ten, home, "consultant-"+a+"@race.example", "", access.RoleViewer)
			return func() error {
				_, err := w.gAssoc.Associate(ctx, associates.AssociateCommand{Caller: w.op, UserID: u.ID,
					Accounts: []associates.AccountRoles{{AccountID: a, Roles: []string{access.RoleViewer}}}})
				return err
			}
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := fmt.Sprintf("Raced %d", i)
			a := w.env.AddAccount(t, w.ten, name)
			write := tc.prepare(t, a)
			var closed map[string]map[string]types.AttributeValue
			w.gate.Arm(func() {
				w.closeAccount(t, a, name)
				closed = w.partition(t, a)
			})
			err := write()
			w.gate.Arm(nil)
			if closed == nil {
				t.Fatalf("the write ran no transaction (err %v)", err)
			}
			if !errors.Is(err, accounts.ErrClosed) {
				t.Fatalf("a write committed after the close answered %v, want 409 account_closed", err)
			}
			if after := w.partition(t, a); !reflect.DeepEqual(after, closed) {
				t.Fatalf("the closed account changed after its close: %d items then, %d now", len(closed), len(after))
			}
		})
	}
}

// Many writers race one close, freely: content registered, invitations
// created, usage recorded. Whatever each answered, the account's
// partition right after the close committed is its partition at the end:
// every write that succeeded committed before the close, every later one
// was refused with account_closed.
func TestWritesRacingACloseFreely(t *testing.T) {
	t.Parallel()
	w := newCloseWorld(t)
	no := false
	inv, cont, use := invitations.New(w.env.Service()), content.New(w.env.Service()), usage.New(w.env.Service())
	for round := range 5 {
		name := fmt.Sprintf("Busy %d", round)
		a := w.env.AddAccount(t, w.ten, name)
		owner := w.env.AddUser(t, w.ten, a, fmt.Sprintf("owner%d@busy.example", round), "", access.RoleViewer)
		sup := w.support(a)
		var seq atomic.Int64
		writes := []func() error{
			func() error {
				_, err := cont.Register(ctx, content.RegisterCommand{Caller: sup, AccountID: a, Type: "report", Name: "R", OwnerID: owner.ID})
				return err
			},
			func() error {
				cmd, _ := invitations.InviteRequest{Emails: []string{fmt.Sprintf("x%d@busy.example", seq.Add(1))}, SendEmail: &no}.Command(sup, a)
				_, err := inv.Invite(ctx, cmd)
				return err
			},
			func() error {
				_, err := use.Record(ctx, usage.RecordCommand{Caller: sup, AccountID: a, Metric: "tasks", Amount: 1})
				return err
			},
		}
		var (
			wg       sync.WaitGroup
			stop     atomic.Bool
			refused  atomic.Int64
			ok       atomic.Int64
			atClose  map[string]map[string]types.AttributeValue
			closeErr error
		)
		for g := range 12 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for n := 0; !stop.Load() || n < 3; n++ {
					err := writes[(g+n)%len(writes)]()
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, accounts.ErrClosed):
						refused.Add(1)
						return
					case apperr.KindOf(err) == apperr.KindRateLimited: // the invitation caps: nothing written
					default:
						t.Errorf("a write failed with %v", err)
						return
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer stop.Store(true)
			_, closeErr = w.adm.CloseAccount(ctx, administration.CloseAccount{Caller: w.op, AccountID: a, ConfirmName: name})
			atClose = w.partition(t, a)
		}()
		wg.Wait()
		if closeErr != nil {
			t.Fatalf("round %d: close: %v", round, closeErr)
		}
		if after := w.partition(t, a); !reflect.DeepEqual(after, atClose) {
			t.Fatalf("round %d: %d items right after the close, %d at the end: writes landed after it (%v)", round, len(atClose), len(after), changed(atClose, after))
		}
		if refused.Load() == 0 {
			t.Fatalf("round %d: no writer was refused", round)
		}
		t.Logf("round %d: %d writes before the close, %d refused", round, ok.Load(), refused.Load())
	}
}

// changed names the sort keys that differ between two partitions.
func changed(before, after map[string]map[string]types.AttributeValue) []string {
	var out []string
	for sk, it := range after {
		if !reflect.DeepEqual(before[sk], it) {
			out = append(out, sk)
		}
	}
	for sk := range before {
		if _, ok := after[sk]; !ok {
			out = append(out, sk)
		}
	}
	return out
}
