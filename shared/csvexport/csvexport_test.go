package csvexport_test

import (
	"encoding/csv"
	"strings"
	"testing"

	"github.com/acme/accountadmin/shared/csvexport"
)

func TestNeutralise(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"=SUM(A1:A9)":             "'=SUM(A1:A9)",
		"+1 555":                  "'+1 555",
		"-2+3":                    "'-2+3",
		"@cmd":                    "'@cmd",
		"\t=1":                    "'\t=1",
		"\r=1":                    "'\r=1",
		"=HYPERLINK(\"x\",\"y\")": "'=HYPERLINK(\"x\",\"y\")",
		"plain":                   "plain",
		"a=b":                     "a=b",
		"":                        "",
		" =1":                     " =1",
		"'already":                "'already",
		"Ünïcode":                 "Ünïcode",
	}
	for in, want := range cases {
		if got := csvexport.Neutralise(in); got != want {
			t.Errorf("Neutralise(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSheetIsRFC4180(t *testing.T) {
	t.Parallel()
	s := csvexport.New("id", "name", "note")
	s.Row("1", `Quote "this"`, "comma, inside")
	s.Row("2", "line\nbreak", "=1+1")
	s.Row("3") // missing cells are empty
	s.Row("4", "b", "c", "dropped")
	want := "id,name,note\r\n" +
		"1,\"Quote \"\"this\"\"\",\"comma, inside\"\r\n" +
		"2,\"line\r\nbreak\",'=1+1\r\n" + // line breaks inside a field are CRLF too
		"3,,\r\n" +
		"4,b,c\r\n"
	if got := s.String(); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if s.Rows() != 4 {
		t.Errorf("rows = %d", s.Rows())
	}
	// A strict reader gets back exactly the (neutralised) cells.
	recs, err := csv.NewReader(strings.NewReader(s.String())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[1][1] != `Quote "this"` || recs[2][1] != "line\nbreak" || recs[2][2] != "'=1+1" {
		t.Fatalf("read back %q", recs)
	}
}
