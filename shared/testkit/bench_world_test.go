package testkit

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A baseline is only compared with its operation when their request shapes
// match, so shapes must tell apart what differs in cost: the operation, the
// index, the number of keys and the kinds of transaction items.
func TestShape(t *testing.T) {
	ix := "GSI1"
	cases := []struct {
		op     string
		params any
		want   string
	}{
		{"GetItem", &dynamodb.GetItemInput{}, "GetItem"},
		{"Query", &dynamodb.QueryInput{}, "Query(table)"},
		{"Query", &dynamodb.QueryInput{IndexName: &ix}, "Query(GSI1)"},
		{"BatchGetItem", &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			"t": {Keys: make([]map[string]types.AttributeValue, 3)}}}, "BatchGetItem[3]"},
		{"TransactWriteItems", &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Update: &types.Update{}}, {Put: &types.Put{}}, {ConditionCheck: &types.ConditionCheck{}}, {Put: &types.Put{}}, {Delete: &types.Delete{}}}},
			"TransactWriteItems[Check,Delete,2×Put,Update]"},
	}
	for _, c := range cases {
		if got := Shape(c.op, c.params); got != c.want {
			t.Errorf("Shape(%s) = %q, want %q", c.op, got, c.want)
		}
	}
	if got := tally([]string{"A", "B", "B", "C", "C", "C"}); got != "A 2×B 3×C" {
		t.Errorf("tally = %q", got)
	}
}

// Rewrite copies an item under new ids everywhere (keys, index keys,
// nested values) and leaves the original alone.
func TestRewrite(t *testing.T) {
	item := map[string]types.AttributeValue{
		"PK":     S("T#t#I#old"),
		"GSI3SK": S("000000000001#t#old"),
		"ids":    &types.AttributeValueMemberSS{Value: []string{"old", "x"}},
		"nested": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{S("a@old.example")}}}},
		"n":      N(7),
	}
	out := Rewrite(item, "old", "new")
	if AttrString(out["PK"]) != "T#t#I#new" || AttrString(out["GSI3SK"]) != "000000000001#t#new" || AttrString(out["ids"]) != "new x" ||
		AttrString(out["nested"]) != "l a@new.example" || AttrNumber(out["n"]) != 7 {
		t.Fatalf("rewritten: %v", out)
	}
	if AttrString(item["PK"]) != "T#t#I#old" || AttrString(item["nested"]) != "l a@old.example" {
		t.Fatalf("the original changed: %v", item)
	}
}
