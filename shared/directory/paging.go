package directory

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/acme/accountadmin/shared/apperr"
	"github.com/acme/accountadmin/shared/store"
)

// List bounds.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
	// Exports page too, so a response stays far below Lambda's 6 MB.
	DefaultExportSize = 1000
	MaxExportSize     = 5000
	// maxReadsPerPage bounds the Queries one page may issue when a filter
	// discards items: the page comes back shorter, with a cursor.
	maxReadsPerPage = 8
)

// position is where a list stopped: which of its queries (segments), and
// where in it (the store's own cursor, which the store checks against the
// query it is used with, so a tampered cursor is a 400 and can never leave
// the caller's partition). Offset is for the small lists sorted in memory.
type position struct {
	Segment int    `json:"s,omitempty"`
	Cursor  string `json:"c,omitempty"`
	Offset  int    `json:"o,omitempty"`
}

func (p position) encode() string {
	b, _ := json.Marshal(p) // a struct of strings and ints always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePosition(raw string, segments int) (position, error) {
	if raw == "" {
		return position{}, nil
	}
	if len(raw) > 4096 {
		return position{}, apperr.ErrBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return position{}, apperr.ErrBadCursor
	}
	var p position
	if err := json.Unmarshal(b, &p); err != nil || p.Segment < 0 || p.Segment >= max(segments, 1) || p.Offset < 0 {
		return position{}, apperr.ErrBadCursor
	}
	return p, nil
}

// readSegments reads up to limit items from queries, one after the other,
// starting where cursor says. Each Query asks for exactly the items still
// missing, so every item read is returned (unless a filter drops it) and a
// page of n reads about n items.
func readSegments(ctx context.Context, s *store.Store, segments []store.Query, limit int32, cursor string) ([]map[string]types.AttributeValue, string, error) {
	pos, err := decodePosition(cursor, len(segments))
	if err != nil {
		return nil, "", err
	}
	if pos.Offset != 0 {
		return nil, "", apperr.ErrBadCursor // an in-memory list's cursor
	}
	var items []map[string]types.AttributeValue
	seg, cur := pos.Segment, pos.Cursor
	for reads := 0; seg < len(segments) && int32(len(items)) < limit && reads < maxReadsPerPage; reads++ {
		q := segments[seg]
		q.Limit, q.Cursor = limit-int32(len(items)), cur
		page, err := s.QueryPage(ctx, q)
		if err != nil {
			return nil, "", err
		}
		items = append(items, page.Items...)
		if page.Cursor == "" {
			seg, cur = seg+1, ""
		} else {
			cur = page.Cursor
		}
	}
	if seg >= len(segments) {
		return items, "", nil
	}
	return items, position{Segment: seg, Cursor: cur}.encode(), nil
}

// pageOf returns one page of a list already in memory, by offset.
func pageOf[T any](all []T, limit int32, cursor string) ([]T, string, error) {
	pos, err := decodePosition(cursor, 1)
	if err != nil {
		return nil, "", err
	}
	if cursor != "" && (pos.Offset == 0 || pos.Cursor != "" || pos.Segment != 0) || pos.Offset > len(all) {
		return nil, "", apperr.ErrBadCursor
	}
	end := min(pos.Offset+int(limit), len(all))
	next := ""
	if end < len(all) {
		next = position{Offset: end}.encode()
	}
	return all[pos.Offset:end], next, nil
}

// Limit parses a "limit" parameter: def when absent, 1..max otherwise.
func Limit(raw string, present bool, def, maxLimit int32, f *apperr.Fields) int32 {
	if !present {
		return def
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > int(maxLimit) {
		f.Add("limit", "invalid_limit", fmt.Sprintf("limit is a number from 1 to %d", maxLimit))
		return def
	}
	return int32(n)
}
