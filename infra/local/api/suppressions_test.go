package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/suppression"
)

// suppressed puts a fresh address on tenant A's suppression list, as
// functions/ses-events does for a permanent bounce, and returns it.
func (w *securityWorld) suppressed(t *testing.T) string {
	t.Helper()
	addr := strings.ToLower("bounced-" + w.env.IDs.NewID() + "@matrix.example")
	svc := &suppression.Service{Store: w.env.Store, Clock: w.env.Clock, IDs: w.env.IDs}
	if _, err := svc.Add(context.Background(), w.a.Tenant, suppression.Suppress{Email: addr, Reason: suppression.ReasonBounced,
		Detail: "NoEmail", At: w.env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	return addr
}
