package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"time"
)

// LocalEventBus stands in for the service's EventBridge bus: there is no
// EventBridge emulator, so it answers the real PutEvents call of the SDK
// (AWS JSON 1.1, as EventBridge does), keeps each event as a rule's target
// would receive it, shows them at /_local/events (an HTML page; JSON with
// ?format=json or Accept: application/json) and forwards each, in order, to
// Webhook when one is set. Only the local stack runs it: functions reach it
// through AWS_ENDPOINT_URL_EVENTBRIDGE, exactly as they reach EventBridge.
type LocalEventBus struct {
	Name    string // the bus PutEvents must name; "" takes any
	Webhook string // where each event is POSTed as JSON; "" forwards nothing
	Log     *slog.Logger
	Client  *http.Client

	mu       sync.Mutex
	events   []BusEvent
	changed  chan struct{}
	forward  chan BusEvent
	startFwd sync.Once
}

// BusEvent is an event as EventBridge delivers it to a rule's target.
type BusEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       time.Time       `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
	Bus        string          `json:"-"`
}

// LocalAccount and LocalRegion fill the events' account and region.
const (
	LocalAccount = "000000000000"
	LocalRegion  = "us-east-1"
)

// EventsPath is where the bus shows its events.
const EventsPath = "/_local/events"

// maxKept bounds the events kept in memory (the oldest go first).
const maxKept = 20000

// ServeHTTP answers PutEvents, and GET /_local/events.
func (b *LocalEventBus) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.Header.Get("X-Amz-Target") == "AWSEvents.PutEvents":
		b.putEvents(w, r)
	case r.Method == http.MethodGet && strings.TrimSuffix(r.URL.Path, "/") == EventsPath:
		b.show(w, r)
	default:
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the local event bus answers PutEvents and GET "+EventsPath)
	}
}

type putEntry struct {
	Source       *string  `json:"Source"`
	DetailType   *string  `json:"DetailType"`
	Detail       *string  `json:"Detail"`
	EventBusName *string  `json:"EventBusName"`
	Resources    []string `json:"Resources"`
	Time         *float64 `json:"Time"` // epoch seconds
}

type putResult struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// putEvents checks the call as EventBridge does (1 to 10 entries, 256 KB
// in all; source, detail-type and a JSON object detail in each; the bus
// named) and answers per entry.
func (b *LocalEventBus) putEvents(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Entries []putEntry `json:"Entries"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(in.Entries) < 1 || len(in.Entries) > 10 {
		awsError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("1 validation error detected: entries must hold 1 to 10 items, not %d", len(in.Entries)))
		return
	}
	total := 0
	for _, e := range in.Entries {
		total += 14 + len(deref(e.Source)) + len(deref(e.DetailType)) + len(deref(e.Detail))
		for _, res := range e.Resources {
			total += len(res)
		}
	}
	if total > 256*1024 {
		awsError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("total size of the entries in the request is %d bytes, over the limit of 262144", total))
		return
	}
	out := struct {
		FailedEntryCount int         `json:"FailedEntryCount"`
		Entries          []putResult `json:"Entries"`
	}{Entries: make([]putResult, len(in.Entries))}
	var accepted []BusEvent
	for i, e := range in.Entries {
		res, ev := b.check(e)
		if res.ErrorCode != "" {
			out.FailedEntryCount++
		} else {
			accepted = append(accepted, ev)
		}
		out.Entries[i] = res
	}
	b.keep(accepted)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (b *LocalEventBus) check(e putEntry) (putResult, BusEvent) {
	bus := deref(e.EventBusName)
	if bus == "" {
		bus = "default"
	}
	switch {
	case b.Name != "" && bus != b.Name:
		return putResult{ErrorCode: "NotAuthorizedForDestinationException", ErrorMessage: "no event bus " + bus + " here (the local bus is " + b.Name + ")"}, BusEvent{}
	case deref(e.Source) == "":
		return putResult{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter Source is not valid. Reason: Source is a required argument."}, BusEvent{}
	case deref(e.DetailType) == "":
		return putResult{ErrorCode: "InvalidArgument", ErrorMessage: "Parameter DetailType is not valid. Reason: DetailType is a required argument."}, BusEvent{}
	case !isJSONObject(deref(e.Detail)):
		return putResult{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is malformed."}, BusEvent{}
	}
	at := time.Now().UTC()
	if e.Time != nil {
		sec, frac := math.Modf(*e.Time)
		at = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	}
	id := newEventID()
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return putResult{EventID: id}, BusEvent{Version: "0", ID: id, DetailType: deref(e.DetailType), Source: deref(e.Source),
		Account: LocalAccount, Time: at.Truncate(time.Second), Region: LocalRegion, Resources: resources,
		Detail: json.RawMessage(deref(e.Detail)), Bus: bus}
}

func (b *LocalEventBus) keep(evs []BusEvent) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	b.events = append(b.events, evs...)
	if over := len(b.events) - maxKept; over > 0 {
		b.events = append([]BusEvent(nil), b.events[over:]...)
	}
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	b.mu.Unlock()
	if b.Webhook != "" {
		b.startFwd.Do(func() {
			b.forward = make(chan BusEvent, 1024)
			go b.forwardLoop()
		})
		for _, ev := range evs {
			b.forward <- ev
		}
	}
}

// forwardLoop posts each event to the webhook, one at a time, in order.
func (b *LocalEventBus) forwardLoop() {
	client := b.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	for ev := range b.forward {
		raw, _ := json.Marshal(ev)
		resp, err := client.Post(b.Webhook, "application/json", bytes.NewReader(raw))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 300 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			b.logger().Warn("forward event to webhook", "webhook", b.Webhook, "event", ev.ID, "detailType", ev.DetailType, "error", err.Error())
		}
	}
}

// Events is every event kept, oldest first.
func (b *LocalEventBus) Events() []BusEvent {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]BusEvent(nil), b.events...)
}

// Wait returns the events once done says they are complete, or fails when
// ctx ends first.
func (b *LocalEventBus) Wait(ctx context.Context, done func([]BusEvent) bool) ([]BusEvent, error) {
	for {
		b.mu.Lock()
		evs := append([]BusEvent(nil), b.events...)
		if b.changed == nil {
			b.changed = make(chan struct{})
		}
		changed := b.changed
		b.mu.Unlock()
		if done(evs) {
			return evs, nil
		}
		select {
		case <-ctx.Done():
			return evs, fmt.Errorf("wait for events: %w", ctx.Err())
		case <-changed:
		}
	}
}

func (b *LocalEventBus) show(w http.ResponseWriter, r *http.Request) {
	evs := b.Events()
	if r.URL.Query().Get("format") == "json" || strings.Contains(r.Header.Get("Accept"), "application/json") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Events []BusEvent `json:"events"`
		}{evs})
		return
	}
	type row struct {
		BusEvent
		Pretty string
	}
	rows := make([]row, 0, len(evs))
	for i := len(evs) - 1; i >= 0 && len(rows) < 500; i-- { // newest first
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, evs[i].Detail, "", "  ")
		rows = append(rows, row{evs[i], pretty.String()})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = eventsPage.Execute(w, struct {
		Rows    []row
		Total   int
		Webhook string
	}{rows, len(evs), b.Webhook})
}

var eventsPage = template.Must(template.New("events").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Local event bus</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td,th{border-bottom:1px solid #ddd;padding:.4em;vertical-align:top;text-align:left}pre{margin:0;font-size:12px}</style>
</head><body>
<h1>Local event bus</h1>
<p>{{.Total}} events put by publish-events, newest first (JSON: <a href="?format=json">?format=json</a>).
{{if .Webhook}}Each is forwarded to {{.Webhook}}.{{else}}No webhook: pass one to make dev to receive them.{{end}}</p>
<table><tr><th>time</th><th>detail-type</th><th>detail</th></tr>
{{range .Rows}}<tr><td>{{.Time.Format "2006-01-02T15:04:05Z07:00"}}</td><td>{{.DetailType}}</td><td><pre>{{.Pretty}}</pre></td></tr>
{{end}}</table></body></html>
`))

func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func (b *LocalEventBus) logger() *slog.Logger {
	if b.Log == nil {
		return slog.Default()
	}
	return b.Log
}

func isJSONObject(s string) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal([]byte(s), &m) == nil && m != nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// newEventID is a random id shaped like EventBridge's (a UUID).
func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
