package routes

import (
	"encoding/json"
	"strings"
	"testing"
)

// closedWritesElsewhere are the writes whose path does not name the account
// but which write into one (the invitation's accounts, the user's home
// account, the accounts associated or reassigned in), refused with 409
// account_closed when it is closed, also when the close lands between the
// write's checks and its commit.
var closedWritesElsewhere = []string{
	"POST /invitations/{invitationId}/resend",
	"DELETE /invitations/{invitationId}",
	"POST /invitations/accept",
	"POST /users/{userId}/associations",
	"POST /users/{userId}/reassign-content",
	"PATCH /users/{userId}",
	"PUT /users/{userId}/password",
	"POST /users/{userId}/suspend",
	"POST /users/{userId}/reactivate",
	"POST /users/{userId}/sign-out",
	"POST /users/delete",
	"DELETE /users/{userId}",
}

func TestClosedAccountIsDocumentedOnWritesIntoAnAccount(t *testing.T) {
	doc, _ := readOpenAPI(t)
	for _, key := range closedWritesElsewhere {
		method, path, _ := strings.Cut(key, " ")
		if _, ok := Lookup(key); !ok {
			t.Errorf("%s is not in the route table", key)
			continue
		}
		raw, ok := doc.Paths[path][strings.ToLower(method)]
		if !ok {
			t.Errorf("%s is not documented", key)
			continue
		}
		var op openAPIOperation
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		conflict, _ := op.Responses["409"].(map[string]any)
		if d, _ := conflict["description"].(string); !strings.Contains(d, "`account_closed`") {
			t.Errorf("%s: 409 account_closed is not documented (409: %v)", key, op.Responses["409"])
		}
	}
}
