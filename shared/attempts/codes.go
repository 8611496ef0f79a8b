package attempts

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
)

// CodeAttempts is how many codes one challenge (a sign-in's second step,
// a pending proof of a mobile number or an authenticator) may have checked.
const CodeAttempts = 5

// ErrCodeAttemptsUsed refuses a code once its challenge has had
// CodeAttempts checked: the challenge is dead, whatever comes next.
var ErrCodeAttemptsUsed = apperr.New(apperr.KindRateLimited, "too_many_code_attempts",
	"this code was tried too many times; start again (sign in again, or ask for a new code)")

// CountCode counts one check of a code held by the item at key, in its
// attribute attr, before the code is compared: one conditional ADD that
// succeeds only while the item exists, is unexpired (its expiresAttr, epoch
// seconds, after now) and fewer than max checks were counted. So however
// many requests race on one challenge, at most max codes are ever
// compared; the count is never given back, right or wrong.
func (l Limiter) CountCode(ctx context.Context, key table.Key, attr, expiresAttr string, max int) error {
	n := expression.Name(attr)
	now := l.Clock.Now()
	cond := store.Exists().
		And(expression.Name(expiresAttr).GreaterThan(expression.Value(now.Unix()))).
		And(expression.Or(expression.AttributeNotExists(n), n.LessThan(expression.Value(max))))
	return l.Store.Do(ctx, "count a code check", store.Update(key, expression.Add(n, expression.Value(1))).If(cond).OrFail(ErrCodeAttemptsUsed))
}

// SecondStepSucceeded is the writes of a successful second step (a code
// after a right password), for the transaction that opens the session: the
// per-email counters start again, and the address counter gets back the
// password's reservation, as Succeeded does in a one-step sign-in (the
// password's request could not know it would succeed). So people behind one
// address who sign in with a code do not add up to that address's lock-out.
func SecondStepSucceeded(c Check) []*store.Write {
	var out []*store.Write
	for _, s := range c.scopes() {
		if s.reset {
			out = append(out, store.Delete(s.key))
		} else {
			out = append(out, store.Update(s.key, expression.Add(expression.Name("count"), expression.Value(-1))))
		}
	}
	return out
}
