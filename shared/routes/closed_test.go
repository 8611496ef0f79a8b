package routes

import (
	"encoding/json"
	"strings"
	"testing"
)

// closedExempt are the writes on an account that a closed account does not
// refuse with account_closed: the reopen itself (its own 409s).
var closedExempt = map[string]bool{"POST /accounts/{accountId}/reopen": true}

// Every route taking an account documents 409 account_closed: every write
// (nothing changes in a closed account, operators and support included),
// and every read (refused to everyone but tenant operators).
func TestClosedAccountIsDocumentedOnEveryAccountRoute(t *testing.T) {
	doc, _ := readOpenAPI(t)
	for _, r := range Table {
		if !strings.HasPrefix(r.Path, "/accounts/{accountId}") || closedExempt[r.Key()] {
			continue
		}
		raw, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s is not documented", r.Key())
			continue
		}
		var op openAPIOperation
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", r.Key(), err)
		}
		conflict, _ := op.Responses["409"].(map[string]any)
		if d, _ := conflict["description"].(string); !strings.Contains(d, "`account_closed`") {
			t.Errorf("%s: 409 account_closed is not documented (409: %v)", r.Key(), op.Responses["409"])
		}
	}
}
