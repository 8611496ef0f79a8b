package plans_test

import (
	"encoding/json"
	"testing"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/plans"
)

// Each shape reads from JSON, validates, answers in its own form and
// survives the table, including the plain numbers plans were stored with.
func TestAllowanceShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, out string
		want    plans.Allowance
	}{
		{`5`, `5`, plans.Allowance{Limit: 5}},
		{`{"limit":5}`, `5`, plans.Allowance{Limit: 5}},
		{`{"usageBased":true}`, `{"limit":0,"usageBased":true}`, plans.Allowance{UsageBased: true}},
		{`{"usageBased":true,"limit":3}`, `{"limit":3,"usageBased":true}`, plans.Allowance{Limit: 3, UsageBased: true}},
		{`{"unlimited":true}`, `{"unlimited":true}`, plans.Allowance{Unlimited: true}},
	} {
		var a plans.Allowance
		if err := json.Unmarshal([]byte(c.in), &a); err != nil || a != c.want {
			t.Fatalf("%s: %+v %v", c.in, a, err)
		}
		var f apperr.Fields
		plans.ValidateAllowance(&f, "x", a)
		if f.Err() != nil {
			t.Fatalf("%s: %v", c.in, f.Err())
		}
		if b, _ := json.Marshal(a); string(b) != c.out {
			t.Fatalf("%s answers %s, want %s", c.in, b, c.out)
		}
		av, err := attributevalue.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		var back plans.Allowance
		if err := attributevalue.Unmarshal(av, &back); err != nil || back != c.want {
			t.Fatalf("%s from the table: %+v %v", c.in, back, err)
		}
	}
	var legacy plans.Allowance
	if err := attributevalue.Unmarshal(&types.AttributeValueMemberN{Value: "1000"}, &legacy); err != nil || legacy != (plans.Allowance{Limit: 1000}) {
		t.Fatalf("a stored number: %+v %v", legacy, err)
	}
}
