package changelog_test

import (
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
)

func TestActorOf(t *testing.T) {
	cases := []struct {
		name   string
		caller access.Caller
		want   changelog.Actor
	}{
		{"a user is themselves, whatever the context claims",
			access.Caller{UserID: "u1", AccountID: "a1", SupportReason: "forged"},
			changelog.Actor{Kind: changelog.ActorUser, ID: "u1"}},
		{"support in a customer account: who, where, why",
			access.Caller{UserID: "op", AccountID: "customer", Operator: true, SupportReason: "ticket 4711"},
			changelog.Actor{Kind: changelog.ActorSupport, ID: "op", AccountID: "customer", Reason: "ticket 4711"}},
		{"an operator not switched does tenant administration",
			access.Caller{UserID: "op", AccountID: "home", Operator: true},
			changelog.Actor{Kind: changelog.ActorOperator, ID: "op"}},
	}
	for _, c := range cases {
		if got := changelog.ActorOf(c.caller); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}

// An entry names the account it is written to: support only there, where
// the session is switched in; an operator's change to any other account is
// tenant administration, without the other account's reason.
func TestEntryActorFollowsTheAccountChanged(t *testing.T) {
	switched := changelog.ActorOf(access.Caller{UserID: "op", AccountID: "customer", Operator: true, SupportReason: "ticket 4711"})
	cases := []struct {
		name    string
		actor   changelog.Actor
		account string
		want    changelog.Actor
	}{
		{"switched into the account changed", switched, "customer",
			changelog.Actor{Kind: changelog.ActorSupport, ID: "op", AccountID: "customer", Reason: "ticket 4711"}},
		{"switched elsewhere", switched, "other", changelog.Actor{Kind: changelog.ActorOperator, ID: "op"}},
		{"a user stays a user", changelog.Actor{Kind: changelog.ActorUser, ID: "u1"}, "other", changelog.Actor{Kind: changelog.ActorUser, ID: "u1"}},
		{"a job stays a job", changelog.System("rollover"), "other", changelog.System("rollover")},
	}
	for _, c := range cases {
		e := changelog.New(access.Caller{}.Tenant, "e1", time.Time{}, c.account, c.actor, "account.renamed", "account", c.account, nil, nil)
		if e.Actor != c.want || e.AccountID != c.account {
			t.Errorf("%s: entry in %s names %+v, want %+v", c.name, e.AccountID, e.Actor, c.want)
		}
	}
}
