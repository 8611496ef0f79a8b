package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/acme/accountadmin/shared/testkit"
)

func TestIntendedStatuses(t *testing.T) {
	for status, want := range map[int]bool{200: true, 201: true, 202: true, 204: true, 409: true, 412: true, 429: true,
		0: false, 400: false, 401: false, 403: false, 404: false, 413: false, 422: false, 500: false, 502: false, 503: false} {
		if got := Intended(status); got != want {
			t.Errorf("Intended(%d) = %v, want %v", status, got, want)
		}
	}
}

// A report with one unexpected answer is an error that names it; intended
// refusals are not.
func TestReportErrOnUnexpectedStatus(t *testing.T) {
	rep := newReport(2, time.Second)
	rep.add([]sample{{op: "GET /me", status: 200}, {op: "PATCH /accounts/{id}", status: 412}, {op: "POST /accounts/{id}/usage", status: 429}})
	if err := rep.Err(); err != nil {
		t.Fatalf("intended statuses only: %v", err)
	}
	rep.add([]sample{{op: "GET /accounts", status: 500, body: `{"code":"internal"}`}})
	err := rep.Err()
	if err == nil || !strings.Contains(err.Error(), "GET /accounts: 500") {
		t.Fatalf("a 500 must fail the run, got %v", err)
	}
	if err := newReport(1, time.Second).Err(); err == nil {
		t.Fatal("a run without requests must fail")
	}
}

// A short run against the local stack: 20 clients for 3 s, 4 accounts (so
// clients race on the same accounts' edits) with an allowance of 1 task
// (so usage records reach it). Every answer must be 2xx or an intended
// 409/412/429, every frequent operation must have run, and the usage limit
// must have answered 429.
func TestShortLoad(t *testing.T) {
	testkit.Require(t)
	var progress strings.Builder
	rep, err := Run(context.Background(), Options{Clients: 20, Duration: 3 * time.Second, Accounts: 4, Tasks: 1}, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	var out strings.Builder
	rep.Print(&out)
	t.Log("\n" + out.String())
	if err := rep.Err(); err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	for _, op := range mix {
		if op.weight >= 4 && len(rep.Ops[op.name]) == 0 {
			t.Errorf("%s never ran", op.name)
		}
	}
	if rep.Statuses["POST /accounts/{id}/usage"][429] == 0 {
		t.Errorf("no usage record reached the limit: %v", rep.Statuses["POST /accounts/{id}/usage"])
	}
}
