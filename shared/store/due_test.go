package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/awsclient"
	"github.com/acme/accountadmin/shared/store"
	"github.com/acme/accountadmin/shared/table"
	"github.com/acme/accountadmin/shared/testkit"
)

// EachDue reads exactly the entries due at or before now in the look-back
// days' buckets, page by page, and an unavailable DynamoDB is 503.
func TestEachDueReadsWhatIsDueAndNothingElse(t *testing.T) {
	t.Parallel()
	env := testkit.New(t)
	ten := env.NewTenant(t)
	ctx := context.Background()
	kind := "STORETEST" + strings.ToUpper(ten.ID()) // a bucket of this test's own
	now := testkit.Start
	day := 24 * time.Hour

	var want []string
	put := func(at time.Time, name string, due bool) {
		t.Helper()
		sk := table.DueSortKey(at) + "#" + name
		item := map[string]any{"PK": ten.AccountPartition("due"), "SK": "ENTRY#" + name,
			"GSI3PK": table.DueBucket(kind, at), "GSI3SK": sk}
		if err := env.Store.Do(ctx, "put due entry", store.Put(item)); err != nil {
			t.Fatal(err)
		}
		if due {
			want = append(want, sk)
		}
	}
	put(now.Add(-5*day), "outside-the-look-back", false)
	put(now.Add(-2*day), "two-days-ago", true)
	for i := range 150 { // more than one page
		put(now.Add(-day+time.Duration(i)*time.Second), fmt.Sprintf("yesterday-%03d", i), true)
	}
	put(now.Add(-time.Second), "a-second-ago", true)
	put(now, "now", true)
	put(now.Add(time.Second), "a-second-later", false)
	put(now.Add(day), "tomorrow", false)

	var got []string
	pages := 0
	buckets, err := env.Store.EachDue(ctx, kind, now, 3*day, func(keys []string) error {
		pages++
		got = append(got, keys...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("read %d keys, want %d: %v", len(got), len(want), got)
	}
	if buckets != 4 || pages < 5 { // 3 days back and today; yesterday takes two pages
		t.Fatalf("%d buckets, %d pages", buckets, pages)
	}

	// visit's error stops the walk and comes back as it is.
	stop := errors.New("stop")
	if _, err := env.Store.EachDue(ctx, kind, now, 3*day, func([]string) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("visit's error: %v", err)
	}

	// Throttled past the SDK's retries: 503, as for every store call.
	faults := awsclient.NewFaultInjector()
	faults.Add(awsclient.Fault{Operation: "Query", Times: -1, Status: 400, Body: awsclient.DynamoThrottled})
	faulty := store.New(awsclient.DynamoDB(env.AWS, func(o *dynamodb.Options) { o.HTTPClient = faults }), env.Config.Table)
	_, err = faulty.EachDue(ctx, kind, now, 3*day, func([]string) error { return nil })
	if apperr.KindOf(err) != apperr.KindUnavailable {
		t.Fatalf("throttled: %v", err)
	}
}
