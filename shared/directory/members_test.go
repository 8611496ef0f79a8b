package directory_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/accounts"
	"github.com/acme/accountadmin/shared/administration"
	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/directory"
	"github.com/acme/accountadmin/shared/identity"
	"github.com/acme/accountadmin/shared/invitations"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/tenancy"
	"github.com/acme/accountadmin/shared/testkit"
)

// usersWorld is an account of its own with an Admin who lists its users
// and invites to it.
type usersWorld struct {
	*world
	account string
	boss    access.Caller
	inv     *invitations.Service
}

func newUsersWorld(t testing.TB, w *world) *usersWorld {
	t.Helper()
	acct := w.env.AddAccount(t, w.ten, "Users list")
	boss := w.env.AddUser(t, w.ten, acct, "boss@users.example", "", access.RoleAdmin)
	inv := invitations.New(w.env.Service())
	inv.Mail = nil
	return &usersWorld{world: w, account: acct, boss: callerOf(w.ten, boss.ID, acct, access.RoleAdmin), inv: inv}
}

// invite sends one invitation (no email) with roles and returns its id and
// its token.
func (u *usersWorld) invite(t testing.TB, addr string, roles ...string) (string, string) {
	t.Helper()
	no := false
	cmd, err := invitations.InviteRequest{Emails: []string{addr}, Roles: roles, SendEmail: &no}.Command(u.boss, u.account)
	if err != nil {
		t.Fatal(err)
	}
	res, err := u.inv.Invite(context.Background(), cmd)
	if err != nil || res.Results[0].Result != invitations.ResultCreated {
		t.Fatalf("invite %s: %v %+v", addr, err, res)
	}
	link := res.Results[0].AcceptURL
	return res.Results[0].InvitationID, link[strings.Index(link, "token=")+len("token="):]
}

// member adds a member of the account and names them (through the profile
// edit, which copies the name to the membership).
func (u *usersWorld) member(t testing.TB, addr, first, last string, roles ...string) testkit.User {
	t.Helper()
	m := u.env.AddUser(t, u.ten, u.account, addr, "", roles...)
	if first != "" || last != "" {
		u.rename(t, m.ID, first, last)
	}
	return m
}

func (u *usersWorld) rename(t testing.TB, userID, first, last string) {
	t.Helper()
	cur, err := identity.LoadUser(context.Background(), u.env.Store, u.ten.Tenant, userID)
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := administration.ProfileRequest{FirstName: &first, LastName: &last}.Command(u.boss, userID, cur.Version)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.adm.EditProfile(context.Background(), cmd); err != nil {
		t.Fatalf("rename %s: %v", userID, err)
	}
}

// list reads every page of q (limit per page) and returns the rows.
func (u *usersWorld) list(t testing.TB, q directory.MemberQuery) []directory.MemberRow {
	t.Helper()
	if q.Caller.UserID == "" {
		q.Caller = u.boss
	}
	q.AccountID = u.account
	if q.Limit == 0 {
		q.Limit = 2
	}
	var rows []directory.MemberRow
	for pages := 0; ; pages++ {
		page, err := u.dir.Members(context.Background(), q)
		if err != nil {
			t.Fatalf("list %+v: %v", q, err)
		}
		if len(page.Members) > int(q.Limit) || pages > 50 {
			t.Fatalf("page of %d rows for limit %d (page %d)", len(page.Members), q.Limit, pages)
		}
		rows = append(rows, page.Members...)
		if page.NextCursor == "" {
			return rows
		}
		q.Cursor = page.NextCursor
	}
}

// listed says whether invitation id's entry in the account still carries
// the users list's keys (by email and by name).
func (u *usersWorld) listed(t testing.TB, id string) bool {
	t.Helper()
	var e struct {
		GSI2PK, GSI2SK, GSI4PK, GSI4SK string
	}
	ok, err := u.env.Store.Get(context.Background(), u.ten.AccountInvitation(u.account, id), &e)
	if err != nil || !ok {
		t.Fatalf("entry of %s: %v %v", id, ok, err)
	}
	return e.GSI2PK != "" || e.GSI2SK != "" || e.GSI4PK != "" || e.GSI4SK != ""
}

// show is a row as "kind:email" ("m:" member, "i:" invitation).
func show(rows []directory.MemberRow) []string {
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.Kind[:1]+":"+r.Email)
	}
	return out
}

func TestUsersListInterleavesMembersAndPendingInvitations(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	u.member(t, "bea@users.example", "", "")
	u.member(t, "dan@users.example", "", "")
	invA, _ := u.invite(t, "ann@users.example", access.RoleViewer)
	u.invite(t, "cat@users.example", access.RoleAdmin)
	u.invite(t, "eve@users.example", access.RoleViewer)

	want := []string{"i:ann@users.example", "m:bea@users.example", "m:boss@users.example", "i:cat@users.example",
		"m:dan@users.example", "i:eve@users.example"}
	rows := u.list(t, directory.MemberQuery{Limit: 2})
	if got := show(rows); !slices.Equal(got, want) {
		t.Fatalf("users by email, pages of 2:\n got %v\nwant %v", got, want)
	}
	slices.Reverse(want)
	if got := show(u.list(t, directory.MemberQuery{Desc: true, Limit: 4})); !slices.Equal(got, want) {
		t.Errorf("users by email descending:\n got %v\nwant %v", got, want)
	}
	ann := rows[0]
	if ann.InvitationID != invA || ann.Status != invitations.StatusPending || !slices.Equal(ann.Roles, []string{access.RoleViewer}) ||
		ann.InvitedAt == nil || ann.ExpiresAt == nil || !ann.ExpiresAt.Equal(ann.InvitedAt.Add(invitations.ValidFor)) ||
		ann.UserID != "" || ann.JoinedAt != nil {
		t.Errorf("invitation row: %+v", ann)
	}
	bea := rows[1]
	if bea.UserID == "" || bea.Status != "active" || bea.JoinedAt == nil || bea.Licence == "" || bea.Version == 0 || bea.InvitationID != "" {
		t.Errorf("member row: %+v", bea)
	}
	if got := show(u.list(t, directory.MemberQuery{Email: "c", Limit: 5})); !slices.Equal(got, []string{"i:cat@users.example"}) {
		t.Errorf("q=c: %v", got)
	}
}

func TestInvitationsLeaveTheUsersListWhenNoLongerPending(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	ctx := context.Background()
	revoked, _ := u.invite(t, "revoked@users.example")
	accepted, token := u.invite(t, "accepted@users.example")
	late, _ := u.invite(t, "late@users.example")
	if !u.listed(t, revoked) || !u.listed(t, accepted) {
		t.Fatal("a pending invitation's entry is not in the users list")
	}
	if err := u.inv.Revoke(ctx, invitations.RevokeCommand{Caller: u.boss, InvitationID: revoked}); err != nil {
		t.Fatal(err)
	}
	cmd, err := invitations.AcceptRequest{Token: token, FirstName: "Acey", LastName: "Accepted", Password: "Plum-Orchard-93-Lantern"}.
		Command("", "198.51.100.7", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.inv.Accept(ctx, cmd); err != nil {
		t.Fatal(err)
	}
	want := []string{"m:accepted@users.example", "m:boss@users.example", "i:late@users.example"}
	if got := show(u.list(t, directory.MemberQuery{})); !slices.Equal(got, want) {
		t.Errorf("after revoke and accept:\n got %v\nwant %v", got, want)
	}
	if u.listed(t, revoked) || u.listed(t, accepted) {
		t.Error("a revoked or accepted invitation's entry keeps the users list's keys")
	}
	// The membership the accept made carries the name it was given.
	if got := u.list(t, directory.MemberQuery{Sort: directory.SortByName, Name: "accepted acey"}); len(got) != 1 || got[0].Email != "accepted@users.example" {
		t.Errorf("the accepted member by name: %+v", got)
	}
	// Past its expiry, before the job marks it, it is gone already.
	u.env.Clock.Advance(invitations.ValidFor + time.Second)
	if got := show(u.list(t, directory.MemberQuery{})); !slices.Equal(got, want[:2]) {
		t.Errorf("past expiry: %v", got)
	}
	// A resend puts it back, with its new expiry.
	if _, err := u.inv.Resend(ctx, invitations.ResendCommand{Caller: u.boss, InvitationID: late}); err != nil {
		t.Fatal(err)
	}
	if got := show(u.list(t, directory.MemberQuery{})); !slices.Equal(got, want) {
		t.Errorf("after resend: %v", got)
	}
	// The revoked one is back in the account's invitations, out of the list.
	if got := show(u.list(t, directory.MemberQuery{Kind: directory.KindInvitation})); !slices.Equal(got, want[2:]) {
		t.Errorf("kind=invitation: %v", got)
	}
}

// TestExpiryJobTakesInvitationsOffTheUsersList runs the expiry job, which
// reads every tenant's due invitations, on a table of its own.
func TestExpiryJobTakesInvitationsOffTheUsersList(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	env.OwnTable(t, "dir")
	read := &readCounter{DynamoDB: env.DB}
	dir := directory.New(env.Service())
	dir.Store = store.New(read, env.Config.Table)
	u := newUsersWorld(t, &world{env: env, ten: env.NewTenant(t), dir: dir, adm: administration.New(env.Service()), read: read})
	id, _ := u.invite(t, "lapsed@users.example")
	u.env.Clock.Advance(invitations.ValidFor + time.Minute)
	report, err := u.inv.ExpireDue(context.Background())
	if err != nil || report.Expired != 1 {
		t.Fatalf("expiry job: %+v %v", report, err)
	}
	if u.listed(t, id) {
		t.Error("the expired invitation's entry keeps the users list's keys")
	}
	if got := show(u.list(t, directory.MemberQuery{})); !slices.Equal(got, []string{"m:boss@users.example"}) {
		t.Errorf("after the expiry job: %v", got)
	}
}

func TestUsersListFilters(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	u.member(t, "viewer@users.example", "", "", access.RoleViewer)
	u.env.AddUser(t, u.ten, u.account, "unlicensed@users.example", "-", access.RoleViewer)
	ext := u.env.AddUser(t, u.ten, u.ten.AccountID, "external@users.example", "")
	m := accounts.NewMembership(u.ten.Tenant, accounts.Membership{AccountID: u.account, UserID: ext.ID, Email: ext.Email,
		Roles: []string{access.RoleAdmin}, Licence: tenancy.DefaultLicence, External: true, CreatedAt: u.env.Clock.Now()})
	if err := u.env.Store.Do(context.Background(), "add external member", store.Put(m)); err != nil {
		t.Fatal(err)
	}
	u.invite(t, "invited-viewer@users.example", access.RoleViewer)
	u.invite(t, "invited-admin@users.example", access.RoleAdmin)
	yes, no := true, false
	for _, c := range []struct {
		name string
		q    directory.MemberQuery
		want []string
	}{
		{"role=Viewer", directory.MemberQuery{Role: access.RoleViewer},
			[]string{"i:invited-viewer@users.example", "m:unlicensed@users.example", "m:viewer@users.example"}},
		{"role=Admin", directory.MemberQuery{Role: access.RoleAdmin},
			[]string{"m:boss@users.example", "m:external@users.example", "i:invited-admin@users.example"}},
		{"kind=member", directory.MemberQuery{Kind: directory.KindMember},
			[]string{"m:boss@users.example", "m:external@users.example", "m:unlicensed@users.example", "m:viewer@users.example"}},
		{"kind=invitation", directory.MemberQuery{Kind: directory.KindInvitation},
			[]string{"i:invited-admin@users.example", "i:invited-viewer@users.example"}},
		{"licence=none", directory.MemberQuery{Licence: directory.NoLicence}, []string{"m:unlicensed@users.example"}},
		{"licence=default", directory.MemberQuery{Licence: tenancy.DefaultLicence, Role: access.RoleViewer}, []string{"m:viewer@users.example"}},
		{"external=true", directory.MemberQuery{External: &yes}, []string{"m:external@users.example"}},
		{"external=false", directory.MemberQuery{External: &no, Role: access.RoleViewer},
			[]string{"m:unlicensed@users.example", "m:viewer@users.example"}},
	} {
		if got := show(u.list(t, c.q)); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
}

func TestUsersListSortsAndSearchesByName(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	u.rename(t, u.boss.UserID, "Zed", "Boss")
	u.member(t, "m1@users.example", "Zoe", "Adams")
	u.member(t, "m2@users.example", "bob", "Baker")
	u.member(t, "m3@users.example", "Amy", "baker")
	u.member(t, "m4@users.example", "Bakari", "Zulu")
	u.invite(t, "pending@users.example")
	u.invite(t, "another@users.example")
	names := func(rows []directory.MemberRow) []string {
		var out []string
		for _, r := range rows {
			if r.Kind == directory.KindInvitation {
				out = append(out, "("+r.Email+")")
			} else {
				out = append(out, r.FirstName+" "+r.LastName)
			}
		}
		return out
	}
	want := []string{"Zoe Adams", "Amy baker", "bob Baker", "Zed Boss", "Bakari Zulu", "(another@users.example)", "(pending@users.example)"}
	if got := names(u.list(t, directory.MemberQuery{Sort: directory.SortByName, Limit: 2})); !slices.Equal(got, want) {
		t.Errorf("by name:\n got %v\nwant %v", got, want)
	}
	slices.Reverse(want)
	if got := names(u.list(t, directory.MemberQuery{Sort: directory.SortByName, Desc: true, Limit: 3})); !slices.Equal(got, want) {
		t.Errorf("by name descending:\n got %v\nwant %v", got, want)
	}
	// A search matches the start of the last name (in "last first" order),
	// then of the first name, any case; each row once.
	for _, c := range []struct {
		name string
		want []string
	}{
		{"bak", []string{"Amy baker", "bob Baker", "Bakari Zulu"}},
		{"baker b", []string{"bob Baker"}},
		{"zo", []string{"Zoe Adams"}},
		{"z", []string{"Bakari Zulu", "Zed Boss", "Zoe Adams"}},
		{"zoe adams", []string{"Zoe Adams"}},
		{"pending", nil},
	} {
		if got := names(u.list(t, directory.MemberQuery{Sort: directory.SortByName, Name: c.name, Limit: 2})); !slices.Equal(got, c.want) {
			t.Errorf("name=%s:\n got %v\nwant %v", c.name, got, c.want)
		}
	}
	// Renaming moves the member in the list, in the same write.
	m2 := u.list(t, directory.MemberQuery{Email: "m2@", Limit: 1})[0]
	u.rename(t, m2.UserID, "Bob", "Aaron")
	if got := names(u.list(t, directory.MemberQuery{Sort: directory.SortByName, Limit: 3}))[:2]; !slices.Equal(got, []string{"Bob Aaron", "Zoe Adams"}) {
		t.Errorf("after renaming Baker to Aaron: %v", got)
	}
	var m accounts.Membership
	if _, err := u.env.Store.Get(context.Background(), u.ten.Membership(u.account, m2.UserID), &m); err != nil {
		t.Fatal(err)
	}
	if m.FirstName != "Bob" || m.LastName != "Aaron" || !strings.Contains(m.GSI4SK, "aaron bob") || !strings.Contains(m.GSI5SK, "bob aaron") {
		t.Errorf("membership after rename: %+v", m)
	}
	if got := names(u.list(t, directory.MemberQuery{Sort: directory.SortByName, Name: "baker"})); !slices.Equal(got, []string{"Amy baker"}) {
		t.Errorf("name=baker after rename: %v", got)
	}
}

func TestUsersExportHasBothKindsNeutralised(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	u.member(t, "formula@users.example", "=HYPERLINK(\"http://evil.example\")", "@SUM(A1)")
	u.invite(t, "invited@users.example", access.RoleViewer)
	page, err := u.dir.Members(context.Background(), directory.MemberQuery{Caller: u.boss, AccountID: u.account, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	sheet := directory.MembersCSV(page.Members, time.UTC).String()
	lines := strings.Split(strings.TrimSpace(sheet), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "kind,user_id,invitation_id,email,") {
		t.Fatalf("export:\n%s", sheet)
	}
	if !strings.Contains(lines[2], `'=HYPERLINK(""http://evil.example"")`) || !strings.Contains(lines[2], "'@SUM(A1)") {
		t.Errorf("member row not neutralised: %s", lines[2])
	}
	if !strings.HasPrefix(lines[3], "invitation,,") || !strings.Contains(lines[3], "invited@users.example") || !strings.Contains(lines[3], ",pending,Viewer,") {
		t.Errorf("invitation row: %s", lines[3])
	}
}

func TestUsersListPageReadsAboutItsOwnSize(t *testing.T) {
	t.Parallel()
	u := newUsersWorld(t, newWorld(t))
	for i := range 70 {
		u.env.AddUser(t, u.ten, u.account, fmt.Sprintf("member%03d@users.example", i), "")
	}
	emails := make([]string, 30)
	for i := range emails {
		emails[i] = fmt.Sprintf("member%03di@users.example", i)
	}
	no := false
	cmd, err := invitations.InviteRequest{Emails: emails, SendEmail: &no}.Command(u.boss, u.account)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.inv.Invite(context.Background(), cmd); err != nil {
		t.Fatal(err)
	}
	for _, q := range []directory.MemberQuery{{}, {Sort: directory.SortByName}, {Sort: directory.SortByName, Name: "user"}} {
		q.Caller, q.AccountID, q.Limit = u.boss, u.account, 50
		u.read.reset()
		page, err := u.dir.Members(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, r := range page.Members {
			kinds[r.Kind]++
		}
		if len(page.Members) != 50 || page.NextCursor == "" || u.read.queries.Load() != 1 || u.read.scanned.Load() > 50 {
			t.Errorf("sort=%q name=%q: %d rows (%v) from %d queries reading %d items", q.Sort, q.Name, len(page.Members), kinds,
				u.read.queries.Load(), u.read.scanned.Load())
		}
		if q.Sort == "" && (kinds[directory.KindMember] == 0 || kinds[directory.KindInvitation] == 0) {
			t.Errorf("a page by email mixes both kinds: %v", kinds)
		}
	}
}

func TestUsersListAccessAndParameters(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	u := newUsersWorld(t, w)
	viewer := u.env.AddUser(t, u.ten, u.account, "viewer@users.example", "", access.RoleViewer)
	outsider := u.env.AddUser(t, u.ten, u.ten.AccountID, "outsider@users.example", "", access.RoleAdmin)
	other := newWorld(t)
	u.invite(t, "invited@users.example")
	ctx := context.Background()
	for _, c := range []struct {
		name    string
		caller  access.Caller
		allowed bool
		kind    apperr.Kind // when refused
	}{
		{"viewer reads", callerOf(u.ten, viewer.ID, u.account, access.RoleViewer), true, 0},
		{"admin of another account", callerOf(u.ten, outsider.ID, u.ten.AccountID, access.RoleAdmin), false, apperr.KindForbidden},
		{"other tenant", other.admin(), false, apperr.KindNotFound},
	} {
		for _, q := range []directory.MemberQuery{{Sort: directory.SortByName, Name: "user"}, {Kind: directory.KindInvitation}, {Sort: directory.SortByName, Desc: true}} {
			q.Caller, q.AccountID, q.Limit = c.caller, u.account, 10
			page, err := u.dir.Members(ctx, q)
			if c.allowed && (err != nil || len(page.Members) == 0) || !c.allowed && (apperr.KindOf(err) != c.kind || len(page.Members) != 0) {
				t.Errorf("%s, %+v: %d rows, %v", c.name, q, len(page.Members), err)
			}
		}
	}
	// A cursor of one order is refused by another.
	page, err := u.dir.Members(ctx, directory.MemberQuery{Caller: u.boss, AccountID: u.account, Limit: 1})
	if err != nil || page.NextCursor == "" {
		t.Fatal(page, err)
	}
	_, err = u.dir.Members(ctx, directory.MemberQuery{Caller: u.boss, AccountID: u.account, Sort: directory.SortByName, Limit: 1, Cursor: page.NextCursor})
	if apperr.KindOf(err) != apperr.KindInvalid {
		t.Errorf("an email-order cursor in name order: %v", err)
	}
}

func TestParseMemberQuery(t *testing.T) {
	t.Parallel()
	c := access.Caller{}
	for _, tc := range []struct {
		params map[string]string
		ok     bool
		check  func(directory.MemberQuery) bool
	}{
		{map[string]string{}, true, func(q directory.MemberQuery) bool { return q.Sort == directory.SortEmail && q.Limit == 50 }},
		{map[string]string{"name": "  Van  DYKE "}, true, func(q directory.MemberQuery) bool {
			return q.Sort == directory.SortByName && q.Name == "van dyke"
		}},
		{map[string]string{"sort": "name", "order": "desc"}, true, func(q directory.MemberQuery) bool { return q.Desc && q.Sort == "name" }},
		{map[string]string{"q": "ANN@", "kind": "invitation", "role": "Viewer"}, true, func(q directory.MemberQuery) bool {
			return q.Email == "ann@" && q.Kind == directory.KindInvitation
		}},
		{map[string]string{"sort": "joined"}, false, nil},
		{map[string]string{"sort": "email", "name": "x"}, false, nil},
		{map[string]string{"sort": "name", "q": "x"}, false, nil},
		{map[string]string{"kind": "user"}, false, nil},
		{map[string]string{"kind": "invitation", "licence": "none"}, false, nil},
		{map[string]string{"kind": "invitation", "external": "true"}, false, nil},
		{map[string]string{"name": strings.Repeat("x", 101)}, false, nil},
	} {
		q, err := directory.ParseMemberQuery(c, "acct", tc.params, 50, 200)
		if tc.ok && (err != nil || !tc.check(q)) || !tc.ok && apperr.KindOf(err) != apperr.KindUnprocessable {
			t.Errorf("%v: %+v %v", tc.params, q, err)
		}
	}
}

func TestAdminSearchesOnlyTheirAccountsByMemberEmail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	alpha := w.env.AddAccount(t, w.ten, "Alpha")
	beta := w.env.AddAccount(t, w.ten, "Beta")
	gamma := w.env.AddAccount(t, w.ten, "Gamma")
	adminAB := w.env.AddUser(t, w.ten, alpha, "admin-ab@search.example", "", access.RoleAdmin)
	w.env.AddMembership(t, w.ten, beta, adminAB.ID, adminAB.Email, access.RoleAdmin)
	adminC := w.env.AddUser(t, w.ten, gamma, "admin-c@search.example", "", access.RoleAdmin)
	consultant := w.env.AddUser(t, w.ten, alpha, "consultant@search.example", "")
	w.env.AddMembership(t, w.ten, gamma, consultant.ID, consultant.Email, access.RoleViewer)
	w.env.AddUser(t, w.ten, beta, "consulting@search.example", "")
	gammaInvites := &usersWorld{world: w, account: gamma, boss: callerOf(w.ten, adminC.ID, gamma, access.RoleAdmin), inv: invitations.New(w.env.Service())}
	gammaInvites.inv.Mail = nil
	gammaInvites.invite(t, "consult-invited@search.example")

	search := func(c access.Caller, member string) map[string][]string {
		t.Helper()
		q, err := directory.ParseAccountQuery(c, map[string]string{"member": member}, 50, 200)
		if err != nil {
			t.Fatal(err)
		}
		page, err := w.dir.Accounts(ctx, q)
		if err != nil {
			t.Fatalf("search %q: %v", member, err)
		}
		out := map[string][]string{}
		for _, a := range page.Accounts {
			out[a.Name] = a.MatchedMembers
		}
		return out
	}
	for _, c := range []struct {
		name   string
		caller access.Caller
		member string
		want   map[string][]string
	}{
		{"admin of alpha and beta", callerOf(w.ten, adminAB.ID, alpha, access.RoleAdmin), " CONSULT",
			map[string][]string{"Alpha": {"consultant@search.example"}, "Beta": {"consulting@search.example"}}},
		{"admin of gamma", callerOf(w.ten, adminC.ID, gamma, access.RoleAdmin), "consult",
			map[string][]string{"Gamma": {"consultant@search.example"}}},
		{"admin of gamma, a member of beta only", callerOf(w.ten, adminC.ID, gamma, access.RoleAdmin), "consulting", map[string][]string{}},
		{"admin of another tenant", newWorld(t).admin(), "consult", map[string][]string{}},
	} {
		if got := search(c.caller, c.member); !mapsEqual(got, c.want) {
			t.Errorf("%s searching %q:\n got %v\nwant %v", c.name, c.member, got, c.want)
		}
	}
}

func mapsEqual(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}
