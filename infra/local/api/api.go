// Package api is the local HTTP API: it routes requests exactly as the
// deployed API Gateway HTTP API does, from the same route table, builds the
// same payload-2.0 events and calls the same handlers in-process, one
// invocation per request: each function resolves its caller itself
// (httpapi.Server.Serve), as deployed. It also runs the scheduled jobs, on a timer and on
// POST /_local/run/{job}, moves the clock the functions share on POST
// /_local/clock, and hands an SNS-wrapped SES notification (a bounce, a
// complaint: SES local sends none) to the ses-events function on POST
// /_local/ses-events (local only: none of these routes is in shared/routes).
package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/ids"
	"github.com/acme/accountadmin/shared/routes"
)

// Job is a scheduled function's handler.
type Job func(ctx context.Context, ev events.EventBridgeEvent) error

// Server serves the route table.
type Server struct {
	Routes   []routes.Route
	Handlers map[string]httpapi.LambdaHandler // by function folder
	Jobs     map[string]Job                   // by job name
	JobTable []routes.Job
	Log      *slog.Logger
	Now      func() time.Time
	// Clock, when set, is the clock Now reads, moved by POST /_local/clock
	// (see ClockPath). api.New sets it when the Deps' clock is settable.
	Clock SettableClock
	// SESEvents is the ses-events function, fed by POST SESEventsPath.
	SESEvents func(ctx context.Context, ev events.SNSEvent) error
}

// SESEventsPath takes an SNS event whose messages are SES notifications
// (as events/ses-events/*.json, filled in) and runs the ses-events
// function on it, as the configuration set's SNS topic would.
const SESEventsPath = "/_local/ses-events"

// maxPayload is API Gateway's request payload limit.
const maxPayload = 10 << 20

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/_local/run/") {
		s.runJobHTTP(w, r, strings.TrimPrefix(r.URL.Path, "/_local/run/"))
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == SESEventsPath && s.SESEvents != nil {
		s.serveSESEvents(w, r)
		return
	}
	if r.URL.Path == ClockPath {
		body, err := io.ReadAll(io.LimitReader(r.Body, httpapi.MaxBody+1))
		if err != nil {
			writeGateway(w, http.StatusBadRequest, "Bad Request")
			return
		}
		s.serveClock(w, r, body, ids.TimeOrdered{Clock: clockFunc(s.now)}.NewID())
		return
	}
	route, params, ok := match(s.Routes, r.Method, r.URL.Path)
	if !ok {
		writeGateway(w, http.StatusNotFound, "Not Found")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		writeGateway(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxPayload {
		writeGateway(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	gen := ids.TimeOrdered{Clock: clockFunc(s.now)}
	requestID := gen.NewID()
	ev := s.event(r, route, params, body, requestID)
	// As deployed, the invocation has an id of its own beside the gateway's.
	ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: gen.NewID()})

	h, ok := s.Handlers[route.Function]
	if !ok {
		writeGateway(w, http.StatusNotImplemented, "no local handler for function "+route.Function)
		return
	}
	resp, err := h(ctx, ev)
	if err != nil {
		s.Log.Error("handler failed", "requestId", requestID, "function", route.Function, "error", err.Error())
		writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	writeResponse(w, resp, requestID)
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	if s.Clock != nil {
		return s.Clock.Now()
	}
	return time.Now().UTC()
}

type clockFunc func() time.Time

func (c clockFunc) Now() time.Time { return c() }

// event builds the payload-2.0 request API Gateway would send.
func (s *Server) event(r *http.Request, route routes.Route, params map[string]string, body []byte, requestID string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, v := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(v, ",")
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	var query map[string]string
	if r.URL.RawQuery != "" {
		query = map[string]string{}
		for k, v := range r.URL.Query() {
			query[k] = strings.Join(v, ",")
		}
	}
	var cookies []string
	for _, c := range r.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := s.now()
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    "000000000000",
			Stage:        "$default",
			RequestID:    requestID,
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(headers["content-type"]) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

func isText(ct string) bool {
	ct = strings.ToLower(ct)
	return strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.Contains(ct, "javascript")
}

func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse, requestID string) {
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	w.Header().Set("Apigw-Requestid", requestID)
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
			return
		}
		body = b
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeGateway answers the way API Gateway itself does: {"message": "..."}.
func writeGateway(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
}

// match finds the route for method and path; {name} matches one segment and
// {name+} the rest. Exact segments win over parameters, as in API Gateway.
func match(table []routes.Route, method, path string) (routes.Route, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	best, bestScore := -1, -1
	var bestParams map[string]string
	for i, rt := range table {
		if rt.Method != method && rt.Method != "ANY" {
			continue
		}
		params, score, ok := matchPath(strings.Split(strings.Trim(rt.Path, "/"), "/"), segs)
		if ok && score > bestScore {
			best, bestScore, bestParams = i, score, params
		}
	}
	if best < 0 {
		return routes.Route{}, nil, false
	}
	return table[best], bestParams, true
}

func matchPath(tmpl, segs []string) (map[string]string, int, bool) {
	var params map[string]string
	score := 0
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "+}") {
			if i >= len(segs) {
				return nil, 0, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-2]] = strings.Join(segs[i:], "/")
			return params, score, true
		}
		if i >= len(segs) {
			return nil, 0, false
		}
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return nil, 0, false
			}
			if params == nil {
				params = map[string]string{}
			}
			params[t[1:len(t)-1]] = segs[i]
			continue
		}
		if t != segs[i] {
			return nil, 0, false
		}
		score++
	}
	if len(tmpl) != len(segs) {
		return nil, 0, false
	}
	return params, score, true
}

func (s *Server) runJobHTTP(w http.ResponseWriter, r *http.Request, name string) {
	if err := s.RunJob(r.Context(), name); err != nil {
		status := http.StatusInternalServerError
		if strings.HasPrefix(err.Error(), "no job") {
			status = http.StatusNotFound
		}
		writeGateway(w, status, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"job": name, "status": "done"})
}

// RunJob fires one scheduled job now with the event EventBridge would send.
func (s *Server) RunJob(ctx context.Context, name string) error {
	var job *routes.Job
	for i := range s.JobTable {
		if s.JobTable[i].Name == name {
			job = &s.JobTable[i]
		}
	}
	h, ok := s.Jobs[name]
	if job == nil || !ok {
		return fmt.Errorf("no job %q", name)
	}
	now := s.now()
	id := ids.TimeOrdered{Clock: clockFunc(s.now)}.NewID()
	ev := events.EventBridgeEvent{Version: "0", ID: id, DetailType: job.DetailType, Source: "aws.events", AccountID: "000000000000",
		Time: now, Region: "local", Resources: []string{"arn:aws:events:local:000000000000:rule/" + name}, Detail: json.RawMessage(`{}`)}
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: id})
	return h(ctx, ev)
}

// RunSchedules fires every job each interval until ctx ends.
func (s *Server) RunSchedules(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, j := range s.JobTable {
				if err := s.RunJob(ctx, j.Name); err != nil {
					s.Log.Error("scheduled job failed", "job", j.Name, "error", err.Error())
				}
			}
		}
	}
}

// serveSESEvents runs the ses-events function on the posted SNS event:
// 204 when it succeeded, 400 for a body that is no SNS event, 500 when the
// function failed (deployed, Lambda would retry it).
func (s *Server) serveSESEvents(w http.ResponseWriter, r *http.Request) {
	var ev events.SNSEvent
	if err := json.NewDecoder(io.LimitReader(r.Body, maxPayload)).Decode(&ev); err != nil || len(ev.Records) == 0 {
		writeGateway(w, http.StatusBadRequest, "the body is not an SNS event with records")
		return
	}
	if err := s.SESEvents(r.Context(), ev); err != nil {
		s.Log.Error("ses-events failed", "error", err.Error())
		writeGateway(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
