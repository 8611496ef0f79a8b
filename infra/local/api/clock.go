package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/clock"
	"github.com/acme/accountadmin/shared/httpapi"
	"github.com/acme/accountadmin/shared/routes"
)

// ClockPath is the local clock's route. It is served by the local HTTP API
// only, beside /_local/run/{job}: it is not in the route table
// (shared/routes), so no deployed stack has it.
const ClockPath = "/_local/clock"

// SettableClock is a clock the local stack moves by hand: clock.Local in
// `make dev`, clock.Manual in tests. The functions and jobs the Server calls
// must share it (api.New does: they all get the Deps' clock).
type SettableClock interface {
	Now() time.Time
	Advance(d time.Duration)
	Set(t time.Time)
}

// The clocks the local stack runs on.
var (
	_ SettableClock = (*clock.Local)(nil)
	_ SettableClock = (*clock.Manual)(nil)
)

// ClockRequest is the body of POST /_local/clock: exactly one of Advance (a
// duration: "192h", "90m", or whole days "8d") and Set (an RFC 3339
// instant). The clock only moves forward: ids and change logs are ordered
// by it.
type ClockRequest struct {
	Advance *string `json:"advance,omitempty"`
	Set     *string `json:"set,omitempty"`
}

// ClockView is what GET and POST /_local/clock answer.
type ClockView struct {
	Now      time.Time  `json:"now"`
	Previous *time.Time `json:"previous,omitempty"`
}

// maxClockJump bounds one move of the clock (ten years).
const maxClockJump = 10 * 365 * 24 * time.Hour

func (s *Server) serveClock(w http.ResponseWriter, r *http.Request, body []byte, requestID string) {
	ev := s.event(r, routes.Route{Method: r.Method, Path: ClockPath}, nil, body, requestID)
	var resp httpapi.Response
	switch r.Method {
	case http.MethodGet:
		resp = httpapi.JSON(http.StatusOK, ClockView{Now: s.now()})
	case http.MethodPost:
		v, err := s.moveClock(ev)
		if err != nil {
			resp = httpapi.Problem(s.Log, r.Context(), ev, err)
		} else {
			resp = httpapi.JSON(http.StatusOK, v)
		}
	default:
		writeGateway(w, http.StatusNotFound, "Not Found")
		return
	}
	writeResponse(w, resp, requestID)
}

func (s *Server) moveClock(ev httpapi.Request) (ClockView, error) {
	var req ClockRequest
	// The body is JSON whatever the content type says (a plain `curl -d`
	// sends it as a form).
	delete(ev.Headers, "content-type")
	if err := httpapi.Decode(ev, &req); err != nil {
		return ClockView{}, err
	}
	now := s.now()
	var f apperr.Fields
	var to time.Time
	switch {
	case (req.Advance == nil) == (req.Set == nil):
		f.Add("advance", "one_of", `give either "advance" (a duration such as "192h" or "8d") or "set" (an instant such as "2026-12-10T09:00:00Z")`)
	case req.Advance != nil:
		d, ok := parseAdvance(*req.Advance)
		f.Check(ok, "advance", "invalid_duration", `a duration such as "192h", "90m" or "8d"`)
		f.Check(!ok || d > 0, "advance", "clock_backwards", "the clock only moves forward: ids and change logs are ordered by it")
		f.Check(!ok || d <= maxClockJump, "advance", "too_far", "the clock moves at most ten years at a time")
		to = now.Add(d)
	default:
		t, err := time.Parse(time.RFC3339, strings.TrimSpace(*req.Set))
		f.Check(err == nil, "set", "invalid_instant", `an RFC 3339 instant such as "2026-12-10T09:00:00Z"`)
		f.Check(err != nil || !t.Before(now), "set", "clock_backwards",
			fmt.Sprintf("the clock only moves forward (it is %s): ids and change logs are ordered by it; restart `make dev` to return to real time", now.Format(time.RFC3339)))
		f.Check(err != nil || t.Sub(now) <= maxClockJump, "set", "too_far", "the clock moves at most ten years at a time")
		to = t
	}
	if err := f.Err(); err != nil {
		return ClockView{}, err
	}
	if s.Clock == nil {
		return ClockView{}, apperr.New(apperr.KindConflict, "clock_not_settable", "this stack runs on the system clock, which cannot be moved")
	}
	if req.Advance != nil {
		d, _ := parseAdvance(*req.Advance)
		s.Clock.Advance(d)
	} else {
		s.Clock.Set(to)
	}
	s.Log.Info("local clock moved", "from", now, "to", s.now())
	return ClockView{Now: s.now(), Previous: &now}, nil
}

// parseAdvance reads a Go duration ("192h", "1h30m") or whole days ("8d").
func parseAdvance(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > int(maxClockJump/(24*time.Hour)) || n < -int(maxClockJump/(24*time.Hour)) {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}
