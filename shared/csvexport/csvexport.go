// Package csvexport writes the CSV exports users download: RFC 4180 (a
// header row, CRLF line ends, fields holding a comma, a quote or a line
// break quoted, quotes doubled) with spreadsheet formula injection
// neutralised: a cell that starts with =, +, -, @, a tab or a carriage
// return gets a leading apostrophe, so Excel, LibreOffice and Google Sheets
// show it as text instead of evaluating it (OWASP "CSV injection").
package csvexport

import (
	"bytes"
	"encoding/csv"
	"strings"
	"time"

	"github.com/acme/accountadmin/shared/email"
)

// ContentType is the media type of an export (RFC 4180 registers text/csv;
// header=present says the first row names the columns).
const ContentType = "text/csv; charset=utf-8; header=present"

// Sheet is one CSV document being written.
type Sheet struct {
	buf  bytes.Buffer
	w    *csv.Writer
	cols int
	rows int
}

// New starts a sheet with its header row.
func New(header ...string) *Sheet {
	s := &Sheet{cols: len(header)}
	s.w = csv.NewWriter(&s.buf)
	s.w.UseCRLF = true
	s.write(header)
	return s
}

// Row adds one record. Cells beyond the header's width are dropped and
// missing ones are empty, so every record has the header's number of fields
// (RFC 4180 section 2.4).
func (s *Sheet) Row(cells ...string) {
	rec := make([]string, s.cols)
	copy(rec, cells)
	for i, c := range rec {
		rec[i] = Neutralise(c)
	}
	s.write(rec)
	s.rows++
}

func (s *Sheet) write(rec []string) {
	// Writing to a bytes.Buffer cannot fail; csv.Writer reports only I/O errors.
	_ = s.w.Write(rec)
}

// Rows is how many records (not counting the header) were written.
func (s *Sheet) Rows() int { return s.rows }

// Len is the size of the document so far, in bytes.
func (s *Sheet) Len() int {
	s.w.Flush()
	return s.buf.Len()
}

// String is the document.
func (s *Sheet) String() string {
	s.w.Flush()
	return s.buf.String()
}

// Neutralise makes a cell safe to open in a spreadsheet: one that a
// spreadsheet would read as a formula (or as the start of one, after a tab
// or a carriage return) gets a leading apostrophe. Other cells are unchanged.
func Neutralise(cell string) string {
	if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return "'" + cell
	}
	return cell
}

// Instants. Each instant of an export takes two columns: the instant as its
// reader reads it, in their time zone with its abbreviation and offset
// ("2026-11-30 10:00 CET (UTC+01:00)"), and beside it the same instant for
// machines, ISO 8601 in UTC ("2026-11-30T09:00:00Z"), under the same name
// with "_utc" after it. A missing instant leaves both cells empty.

// InstantColumns names the two columns of each instant column name given:
// "joined_at", "joined_at_utc", ...
func InstantColumns(names ...string) []string {
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, n+"_utc")
	}
	return out
}

// Instant is the two cells of at: in zone, and in UTC. A nil at is two
// empty cells; a nil zone is UTC.
func Instant(at *time.Time, zone *time.Location) []string {
	if at == nil || at.IsZero() {
		return []string{"", ""}
	}
	return []string{email.FormatShortIn(*at, zone), at.UTC().Format(time.RFC3339)}
}
