package sesmail

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ses"
)

// FaultInjector is a test fixture that sits at the SDK's HTTP edge of an SES
// client: it answers chosen SendEmail calls with a real SES error response
// (Throttling, MessageRejected, ...) instead of passing them on to SES, so
// the SDK parses the error exactly as it would from AWS, and everything
// above it — retries, classification, the invitation's delivery state — is
// tested for real. Calls it does not fault go to the real endpoint (SES
// local under `make test`).
//
//	faults := &sesmail.FaultInjector{}
//	faults.Add(sesmail.Fault{Code: "Throttling", Times: 2})
//	client := awsclient.SES(cfg, faults.Option())
type FaultInjector struct {
	mu       sync.Mutex
	next     aws.HTTPClient
	faults   []*Fault
	injected int
	passed   int
}

// Fault is one scripted SES error.
type Fault struct {
	Recipient string // only sends to this address ("" = any send)
	Code      string // the SES error code: Throttling, MessageRejected, ...
	Message   string // the error message ("" = a typical one for the code)
	Status    int    // the HTTP status (0 = 400, as SES answers both codes above)
	Times     int    // how many matching calls it answers (0 = every one)
	used      int
}

// Add scripts a fault; faults are matched in the order they were added.
func (f *FaultInjector) Add(fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault)
}

// Injected is how many calls were answered with a fault.
func (f *FaultInjector) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

// Passed is how many calls went on to the real endpoint.
func (f *FaultInjector) Passed() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.passed
}

// Option installs the injector as an SES client's HTTP client, in front of
// the client's own.
func (f *FaultInjector) Option() func(*ses.Options) {
	return func(o *ses.Options) {
		f.mu.Lock()
		if f.next == nil {
			if o.HTTPClient != nil {
				f.next = o.HTTPClient
			} else {
				f.next = awshttp.NewBuildableClient()
			}
		}
		f.mu.Unlock()
		o.HTTPClient = f
	}
}

// Do implements the SDK's HTTPClient.
func (f *FaultInjector) Do(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("fault injector: read request: %w", err)
		}
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	form, _ := url.ParseQuery(string(body))
	if fault := f.match(form); fault != nil {
		return fault.response(req), nil
	}
	f.mu.Lock()
	f.passed++
	next := f.next
	f.mu.Unlock()
	if next == nil {
		next = awshttp.NewBuildableClient()
	}
	return next.Do(req)
}

func (f *FaultInjector) match(form url.Values) *Fault {
	if form.Get("Action") != "SendEmail" {
		return nil
	}
	to := strings.ToLower(form.Get("Destination.ToAddresses.member.1"))
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fault := range f.faults {
		if fault.Recipient != "" && !strings.EqualFold(fault.Recipient, to) {
			continue
		}
		if fault.Times > 0 && fault.used >= fault.Times {
			continue
		}
		fault.used++
		f.injected++
		c := *fault
		return &c
	}
	return nil
}

func (fault *Fault) response(req *http.Request) *http.Response {
	status := fault.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	msg := fault.Message
	if msg == "" {
		switch fault.Code {
		case "Throttling":
			msg = "Maximum sending rate exceeded."
		case "MessageRejected":
			msg = "Email address is not verified."
		default:
			msg = "Injected fault."
		}
	}
	kind := "Sender"
	if status >= 500 {
		kind = "Receiver"
	}
	xml := fmt.Sprintf(`<ErrorResponse xmlns="http://ses.amazonaws.com/doc/2010-12-01/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fault-injector</RequestId></ErrorResponse>`,
		kind, fault.Code, msg)
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        http.Header{"Content-Type": []string{"text/xml"}, "X-Amzn-Requestid": []string{"fault-injector"}},
		Body:          io.NopCloser(strings.NewReader(xml)),
		ContentLength: int64(len(xml)),
		Request:       req,
	}
}
