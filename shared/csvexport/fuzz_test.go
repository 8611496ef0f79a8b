package csvexport_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/csvexport"
)

// FuzzSheet writes hostile names into an export and reads it back with a
// strict RFC 4180 reader: every document parses, has exactly the header's
// fields in every record, gives back each cell (neutralised; a carriage
// return, which RFC 4180 has no way to keep apart from a line break, is
// dropped), and no cell starts as a formula would.
func FuzzSheet(f *testing.F) {
	for _, seed := range [][2]string{
		{"plain", "note"}, {"=SUM(A1:A9)", "+1"}, {"-2+3", "@cmd"}, {"\t=1", "\r=1"},
		{`Quote "this"`, "comma, inside"}, {"line\nbreak", "cr\r\nlf"}, {"", " =1"},
		{"=HYPERLINK(\"http://x\",\"y\")", "\x00\xff"}, {"\r\r=1", "\"\n\""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, name, note string) {
		s := csvexport.New("id", "name", "note")
		s.Row("1", name, note)
		s.Row("2", note, name, "dropped")
		recs, err := csv.NewReader(strings.NewReader(s.String())).ReadAll()
		if err != nil {
			t.Fatalf("the export does not parse: %v\n%q", err, s.String())
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3: %q", len(recs), s.String())
		}
		want := [][]string{{"id", "name", "note"}, {"1", name, note}, {"2", note, name}}
		for i, rec := range recs {
			if len(rec) != 3 {
				t.Fatalf("record %d has %d fields: %q", i, len(rec), rec)
			}
			for j, got := range rec {
				if i > 0 && got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
					t.Fatalf("cell %d,%d starts as a formula: %q", i, j, got)
				}
				expected := want[i][j]
				if i > 0 {
					expected = csvexport.Neutralise(expected)
				}
				if expected = strings.ReplaceAll(expected, "\r", ""); got != expected {
					t.Fatalf("cell %d,%d = %q, want %q", i, j, got, expected)
				}
			}
		}
	})
}
