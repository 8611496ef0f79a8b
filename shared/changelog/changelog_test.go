package changelog_test

import (
	"testing"

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
		{"support at home: no reason",
			access.Caller{UserID: "op", AccountID: "home", Operator: true},
			changelog.Actor{Kind: changelog.ActorSupport, ID: "op", AccountID: "home"}},
	}
	for _, c := range cases {
		if got := changelog.ActorOf(c.caller); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.name, got, c.want)
		}
	}
}
