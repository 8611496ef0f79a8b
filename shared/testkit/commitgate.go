package testkit

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/acme/accountadmin/shared/store"
)

// CommitGate is a table client (a fault injector, for tests only) that runs
// a hook just before the next TransactWriteItems, once: it puts a racing
// change exactly between a decision and its commit.
type CommitGate struct {
	store.DynamoDB
	mu   sync.Mutex
	hook func()
}

// Arm sets the hook the next transaction runs first (nil disarms it).
func (g *CommitGate) Arm(f func()) { g.mu.Lock(); g.hook = f; g.mu.Unlock() }

// TransactWriteItems runs the armed hook, then the transaction.
func (g *CommitGate) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	g.mu.Lock()
	f := g.hook
	g.hook = nil
	g.mu.Unlock()
	if f != nil {
		f()
	}
	return g.DynamoDB.TransactWriteItems(ctx, in, opts...)
}
