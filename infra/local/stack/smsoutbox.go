package stack

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// The local SMS outbox: AWS has no SMS emulator, so the local stack
// receives the service's real SDK call (Amazon SNS Publish to a phone
// number, AWS query protocol) on a local endpoint, keeps every message,
// and shows them: GET / is a page beside the email inbox, GET /messages
// the JSON that tests read. Only the local stack links it; functions reach
// it through AWS_ENDPOINT_URL_SNS, as they reach SES local.

// SMSMessage is one message the outbox received.
type SMSMessage struct {
	ID          string    `json:"messageId"`
	PhoneNumber string    `json:"phoneNumber"`
	Message     string    `json:"message"`
	SenderID    string    `json:"senderId,omitempty"`
	SMSType     string    `json:"smsType,omitempty"`
	At          time.Time `json:"at"`
}

type smsOutbox struct {
	mu   sync.Mutex
	msgs []SMSMessage
	srv  *http.Server
}

func startSMSOutbox(port int) (*smsOutbox, string, error) {
	o := &smsOutbox{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", o.publish)
	mux.HandleFunc("GET /messages", o.list)
	mux.HandleFunc("GET /{$}", o.page)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return nil, "", fmt.Errorf("local sms outbox: %w", err)
	}
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = o.srv.Serve(ln) }()
	return o, "http://" + ln.Addr().String(), nil
}

// publish answers SNS's Publish as SNS does; any other action is refused
// as SNS refuses an action the caller may not use.
func (o *smsOutbox) publish(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "Publish" || r.PostForm.Get("PhoneNumber") == "" {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidParameter</Code>`+
			`<Message>the local SMS outbox takes only Publish to a PhoneNumber</Message></Error><RequestId>local</RequestId></ErrorResponse>`)
		return
	}
	f := r.PostForm
	m := SMSMessage{PhoneNumber: f.Get("PhoneNumber"), Message: f.Get("Message"), At: time.Now().UTC()}
	for i := 1; f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)) != ""; i++ {
		v := f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Value.StringValue", i))
		switch f.Get(fmt.Sprintf("MessageAttributes.entry.%d.Name", i)) {
		case "AWS.SNS.SMS.SenderID":
			m.SenderID = v
		case "AWS.SNS.SMS.SMSType":
			m.SMSType = v
		}
	}
	o.mu.Lock()
	m.ID = fmt.Sprintf("local-%06d", len(o.msgs)+1)
	o.msgs = append(o.msgs, m)
	o.mu.Unlock()
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>%s</MessageId></PublishResult>`+
		`<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></PublishResponse>`, m.ID, m.ID)
}

func (o *smsOutbox) snapshot(phone string) []SMSMessage {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := []SMSMessage{}
	for _, m := range o.msgs {
		if phone == "" || m.PhoneNumber == phone {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

// list is GET /messages[?phoneNumber=+44…]: newest first.
func (o *smsOutbox) list(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"messages": o.snapshot(strings.TrimSpace(r.URL.Query().Get("phoneNumber")))})
}

var outboxPage = template.Must(template.New("outbox").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Local SMS outbox</title>
<style>body{font:15px system-ui;margin:2em}td,th{padding:.3em .8em;text-align:left;border-bottom:1px solid #ddd}</style>
<h1>Local SMS outbox</h1><p>Every text message the service sent while running locally, newest first (JSON: <a href="/messages">/messages</a>).</p>
<table><tr><th>when (UTC)</th><th>to</th><th>sender id</th><th>message</th></tr>
{{range .}}<tr><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.PhoneNumber}}</td><td>{{.SenderID}}</td><td>{{.Message}}</td></tr>
{{else}}<tr><td colspan="4">No messages yet.</td></tr>{{end}}</table></html>`))

func (o *smsOutbox) page(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = outboxPage.Execute(w, o.snapshot(""))
}
