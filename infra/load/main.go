// Command load is the load test of the local HTTP API (`make load`): it
// starts the API in-process on a free port over DynamoDB Local (or uses
// -url), seeds one tenant with accounts and one Admin per client, then runs
// -clients concurrent clients, each with its own session, for -duration
// with a mix of about 80% reads and 20% writes. It prints throughput,
// latency percentiles overall and per operation, and counts by status.
// Any status other than 2xx and the intended 409, 412 and 429 is an error
// and makes it exit 1.
//
//	go run ./infra/local test -- go run ./infra/load -clients 200 -duration 60s
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	var o Options
	flag.IntVar(&o.Clients, "clients", 200, "concurrent clients, each signed in as its own user")
	flag.DurationVar(&o.Duration, "duration", DefaultDuration, "how long the clients run")
	flag.IntVar(&o.Accounts, "accounts", 20, "accounts the clients share (clients of one account race on its edits)")
	flag.Int64Var(&o.Tasks, "tasks", 50, "the tenant's allowance of the tasks metric per period (usage records past it answer 429)")
	flag.StringVar(&o.URL, "url", "", "an API already running (its table is TABLE_NAME); default: start one in-process")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := Run(ctx, o, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	rep.Print(os.Stdout)
	if err := rep.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}
