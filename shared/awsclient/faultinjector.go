package awsclient

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// FaultInjector is a test-only fake at the SDK's HTTP edge: it answers
// chosen operations with an AWS error response instead of sending them (or,
// with Fault.Delivered, after sending them), and passes everything else to
// the real endpoint (DynamoDB Local, SES local). Plug it in as the client's
// HTTPClient option.
type FaultInjector struct {
	Next aws.HTTPClient

	mu     sync.Mutex
	faults []*Fault
	hits   map[string]int
}

// Fault answers the next Times calls of Operation (e.g. "TransactWriteItems",
// "SendEmail"; Times < 0 means every call) with Status and Body.
type Fault struct {
	Operation   string
	Times       int
	Status      int
	Body        string
	ContentType string
	// Delivered sends the request to the real endpoint first and drops its
	// answer: the response lost after the server applied the request (a
	// gateway 5xx, a connection cut on the way back), which the SDK's
	// retryer answers by sending the request again.
	Delivered bool
}

// NewFaultInjector wraps the SDK's default HTTP client.
func NewFaultInjector() *FaultInjector {
	return &FaultInjector{Next: awshttp.NewBuildableClient(), hits: map[string]int{}}
}

// Add arms a fault.
func (f *FaultInjector) Add(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fault
	f.faults = append(f.faults, &c)
}

// Clear disarms every fault.
func (f *FaultInjector) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Injected says how many times a fault answered operation.
func (f *FaultInjector) Injected(operation string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[operation]
}

// Do implements aws.HTTPClient.
func (f *FaultInjector) Do(req *http.Request) (*http.Response, error) {
	op, err := operation(req)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	var hit *Fault
	for _, fault := range f.faults {
		if fault.Operation == op && fault.Times != 0 {
			hit = fault
			if fault.Times > 0 {
				fault.Times--
			}
			f.hits[op]++
			break
		}
	}
	f.mu.Unlock()
	if hit == nil {
		return f.Next.Do(req)
	}
	if hit.Delivered {
		resp, err := f.Next.Do(req)
		if err != nil {
			return nil, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	ct := hit.ContentType
	if ct == "" {
		ct = "application/x-amz-json-1.0"
	}
	return &http.Response{
		StatusCode:    hit.Status,
		Status:        http.StatusText(hit.Status),
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": []string{ct}, "X-Amzn-Requestid": []string{"fault-injected"}},
		Body:          io.NopCloser(strings.NewReader(hit.Body)),
		ContentLength: int64(len(hit.Body)),
		Request:       req,
	}, nil
}

// operation reads the API operation of a request: the X-Amz-Target header of
// JSON protocols (DynamoDB) or the Action form field of query protocols (SES).
func operation(req *http.Request) (string, error) {
	if t := req.Header.Get("X-Amz-Target"); t != "" {
		if i := strings.LastIndexByte(t, '.'); i >= 0 {
			return t[i+1:], nil
		}
		return t, nil
	}
	if req.Body == nil {
		return "", nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return "", err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	for _, kv := range strings.Split(string(body), "&") {
		if v, ok := strings.CutPrefix(kv, "Action="); ok {
			return v, nil
		}
	}
	return "", nil
}

// DynamoDB error bodies for common faults.
const (
	DynamoInternal  = `{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"injected: internal server error"}` // with status 500
	DynamoThrottled = `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"injected: throughput exceeded"}`
	DynamoConflict  = `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]","CancellationReasons":[{"Code":"TransactionConflict","Message":"injected: conflict"},{"Code":"None"}]}`
)
