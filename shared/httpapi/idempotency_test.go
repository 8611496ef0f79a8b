package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// counting is a handler with a visible side effect: how often it ran.
func counting(runs *atomic.Int64) httpapi.Handler {
	return func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		n := runs.Add(1)
		return httpapi.JSON(http.StatusCreated, map[string]any{"run": n, "body": req.Body}), nil
	}
}

func idem(env *testkit.Env, ten testkit.Tenant) httpapi.Idempotency {
	return httpapi.Idempotency{Store: env.Store, Clock: env.Clock,
		Scope: func(context.Context, httpapi.Request) (table.Tenant, string, error) {
			return ten.Tenant, ten.AdminID, nil
		}}
}

func post(key, body string) httpapi.Request {
	return httpapi.Request{RouteKey: "POST /things", RawPath: "/things", Body: body,
		Headers: map[string]string{"idempotency-key": key}}
}

func TestIdempotencyReplaysTheFirstResponse(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	var runs atomic.Int64
	h := idem(env, ten).Wrap(counting(&runs))
	ctx := context.Background()

	first, err := h(ctx, post("k1", `{"a":1}`))
	if err != nil || first.StatusCode != 201 {
		t.Fatalf("first: %v %d", err, first.StatusCode)
	}
	again, err := h(ctx, post("k1", `{"a":1}`))
	if err != nil || again.StatusCode != 201 || again.Body != first.Body || again.Headers["Idempotent-Replayed"] != "true" {
		t.Fatalf("replay: %v %d %s %v", err, again.StatusCode, again.Body, again.Headers)
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times, want 1", runs.Load())
	}
	_, err = h(ctx, post("k1", `{"a":2}`))
	if e, ok := apperr.As(err); !ok || e.Code != "idempotency_key_reused" || e.Kind != apperr.KindUnprocessable {
		t.Fatalf("other body under same key: %v", err)
	}
	// Without a key every request runs.
	if _, err := h(ctx, httpapi.Request{RouteKey: "POST /things", Body: "{}"}); err != nil || runs.Load() != 2 {
		t.Fatalf("no key: %v runs=%d", err, runs.Load())
	}
	if _, err := h(ctx, post("bad key with spaces", "{}")); apperr.KindOf(err) != apperr.KindInvalid {
		t.Fatalf("bad key accepted: %v", err)
	}
}

// Many replays of one key racing: the handler runs exactly once; every
// answer is the stored response or "still in progress".
func TestIdempotencyUnderRace(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	for trial := range 5 {
		var runs atomic.Int64
		h := idem(env, ten).Wrap(counting(&runs))
		key := fmt.Sprintf("race-%d", trial)
		var wg sync.WaitGroup
		var ok, busy, other atomic.Int64
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := h(context.Background(), post(key, `{"x":1}`))
				switch {
				case err == nil && resp.StatusCode == 201:
					ok.Add(1)
				case apperr.KindOf(err) == apperr.KindConflict:
					busy.Add(1)
				default:
					other.Add(1)
				}
			}()
		}
		wg.Wait()
		if runs.Load() != 1 || other.Load() != 0 || ok.Load() < 1 {
			t.Fatalf("trial %d: runs=%d ok=%d busy=%d other=%d", trial, runs.Load(), ok.Load(), busy.Load(), other.Load())
		}
	}
}

func TestIdempotencyFreesTheKeyAfterAFailure(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	fail := true
	h := idem(env, ten).Wrap(func(ctx context.Context, req httpapi.Request) (httpapi.Response, error) {
		if fail {
			return httpapi.Response{}, apperr.ErrUnavailable
		}
		return httpapi.JSON(200, map[string]string{"ok": "yes"}), nil
	})
	if _, err := h(context.Background(), post("k", "{}")); apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("first: %v", err)
	}
	fail = false
	resp, err := h(context.Background(), post("k", "{}"))
	if err != nil || resp.StatusCode != 200 || resp.Headers["Idempotent-Replayed"] != "" {
		t.Fatalf("retry after failure did not run again: %v %d %v", err, resp.StatusCode, resp.Headers)
	}
}
