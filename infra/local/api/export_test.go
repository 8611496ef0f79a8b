package api

import (
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// EventOf is the payload-2.0 event the local API builds for r, and the
// function that serves it: for tests that must send an event no HTTP client
// can (a forged requestContext).
func (s *Server) EventOf(r *http.Request, body []byte) (events.APIGatewayV2HTTPRequest, string, bool) {
	route, params, ok := match(s.Routes, r.Method, r.URL.Path)
	if !ok {
		return events.APIGatewayV2HTTPRequest{}, "", false
	}
	return s.event(r, route, params, body, "forged-test"), route.Function, true
}
