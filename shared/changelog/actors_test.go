package changelog_test

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/access"
	"github.com/acme/accountadmin/shared/changelog"
)

// Every person an entry names is named as the caller was (name and email),
// whichever kind the account changed makes them: a user, support where
// switched in, an operator anywhere else. Jobs keep their id as their name.
func TestActorsAreNamedAsTheyWere(t *testing.T) {
	named := func(c access.Caller) access.Caller { c.Name, c.Email = "Sam Support", "sam@support.example"; return c }
	user := named(access.Caller{UserID: "u1", AccountID: "a1"})
	op := named(access.Caller{UserID: "op", AccountID: "customer", Operator: true, SupportReason: "ticket 15"})
	cases := []struct {
		name    string
		actor   changelog.Actor
		account string
		want    changelog.Actor
	}{
		{"a user", changelog.ActorOf(user), "a1",
			changelog.Actor{Kind: changelog.ActorUser, ID: "u1", Name: "Sam Support", Email: "sam@support.example"}},
		{"support in the account switched into", changelog.ActorOf(op), "customer",
			changelog.Actor{Kind: changelog.ActorSupport, ID: "op", AccountID: "customer", Reason: "ticket 15", Name: "Sam Support", Email: "sam@support.example"}},
		{"an operator elsewhere", changelog.ActorOf(op), "other",
			changelog.Actor{Kind: changelog.ActorOperator, ID: "op", Name: "Sam Support", Email: "sam@support.example"}},
		{"a job", changelog.System("rollover"), "other", changelog.Actor{Kind: changelog.ActorSystem, ID: "rollover"}},
	}
	for _, c := range cases {
		e := changelog.New(access.Caller{}.Tenant, "e1", time.Time{}, c.account, c.actor, "account.renamed", "account", c.account, nil, nil)
		if e.Actor != c.want {
			t.Errorf("%s: entry names %+v, want %+v", c.name, e.Actor, c.want)
		}
	}
}

// An entry written before actors were named decodes with its id alone.
func TestUnnamedActorsStillDecode(t *testing.T) {
	item := map[string]types.AttributeValue{
		"kind": &types.AttributeValueMemberS{Value: changelog.ActorSupport},
		"id":   &types.AttributeValueMemberS{Value: "op"}, "accountId": &types.AttributeValueMemberS{Value: "customer"},
		"reason": &types.AttributeValueMemberS{Value: "ticket 1"},
	}
	var a changelog.Actor
	if err := attributevalue.UnmarshalMap(item, &a); err != nil || a.ID != "op" || a.Name != "" || a.Email != "" || a.Reason != "ticket 1" {
		t.Fatalf("old actor: %+v, %v", a, err)
	}
	back, err := attributevalue.MarshalMap(a)
	if _, named := back["name"]; err != nil || named {
		t.Fatalf("an unnamed actor is stored without a name: %v %v", back, err)
	}
}
