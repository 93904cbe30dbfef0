package datasets

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestTRECQrels(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "qrels", "1 0 d1 2\n1\t0\td2\t0\n\n2 Q0 d1 -2\n1 0 d1 2\n")
	q, err := LoadTRECQrels(p)
	if err != nil {
		t.Fatal(err)
	}
	want := Qrels{"1": {"d1": 2, "d2": 0}, "2": {"d1": -2}}
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("got %v", q)
	}
	out := filepath.Join(dir, "out")
	if err := WriteTRECQrels(out, q); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "1 0 d1 2\n1 0 d2 0\n2 0 d1 -2\n" {
		t.Fatalf("written %q", b)
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"1 0 d1\n", 1, "want 4 columns"},
		{"1 0 d1 1\n1 0 d1 x\n", 2, "not an integer"},
		{"1 0 d1 1\n1 0 d1 0\n", 2, "judged 0 here but 1 earlier"},
	} {
		p := writeFile(t, dir, "bad", c.in)
		_, err := LoadTRECQrels(p)
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestTRECRun(t *testing.T) {
	dir := t.TempDir()
	run := []RunEntry{
		{QueryID: "1", DocID: "d1", Rank: 1, Score: 12.5, Tag: "mimicry"},
		{QueryID: "1", DocID: "d2", Rank: 2, Score: -0.1 + 1e-17, Tag: "mimicry"},
	}
	p := filepath.Join(dir, "run")
	if err := WriteTRECRun(p, run); err != nil {
		t.Fatal(err)
	}
	got, err := LoadTRECRun(p)
	if err != nil || !reflect.DeepEqual(got, run) {
		t.Fatalf("round trip: %v %v", got, err)
	}
	for _, bad := range []RunEntry{
		{QueryID: "1", DocID: "d", Score: math.NaN(), Tag: "t"},
		{QueryID: "1", DocID: "d", Score: math.Inf(1), Tag: "t"},
		{QueryID: "1", DocID: "d d", Tag: "t"},
		{QueryID: "1", DocID: "d"},
	} {
		if err := WriteTRECRun(filepath.Join(dir, "bad"), []RunEntry{bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
		if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
			t.Fatalf("failed write left a file")
		}
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"1 Q0 d1 1 2.5\n", 1, "want 6 columns"},
		{"1 Q0 d1 first 2.5 t\n", 1, "rank"},
		{"1 Q0 d1 1 NaN t\n", 1, "not finite"},
		{"1 Q0 d1 1 2.5 t\n1 Q0 d1 1 -Inf t\n", 2, "not finite"},
		{"1 Q0 d1 1 1e999 t\n", 1, "out of range"},
		{"1 Q0 d1 1 abc t\n", 1, "not a number"},
	} {
		err := ReadTRECRun(strings.NewReader(c.in), "run", func(RunEntry) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestRankRun(t *testing.T) {
	run, err := RankRun(map[string]map[string]float64{"10": {"a": 1, "b": 3, "c": 3}, "2": {"x": 0}}, "tag", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []RunEntry{
		{QueryID: "2", DocID: "x", Rank: 1, Score: 0, Tag: "tag"},
		{QueryID: "10", DocID: "b", Rank: 1, Score: 3, Tag: "tag"},
		{QueryID: "10", DocID: "c", Rank: 2, Score: 3, Tag: "tag"},
	}
	if !reflect.DeepEqual(run, want) {
		t.Fatalf("got %v", run)
	}
	if _, err := RankRun(map[string]map[string]float64{"1": {"a": math.NaN()}}, "t", 0); err == nil {
		t.Fatal("NaN accepted")
	}
}

func TestParseErrorFormat(t *testing.T) {
	e := &ParseError{Path: "a/b.tsv", Line: 7, Msg: "bad"}
	if e.Error() != "a/b.tsv:7: bad" {
		t.Fatal(e.Error())
	}
	e.Line = 0
	if e.Error() != "a/b.tsv: bad" {
		t.Fatal(e.Error())
	}
}

func TestWriteFileAtomicFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFileAtomic(p, func(w io.Writer) error {
		if _, err := io.WriteString(w, "half of the new content"); err != nil {
			return err
		}
		return boom
	})
	if err != boom {
		t.Fatalf("got %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Fatalf("old file changed to %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
	if err := WriteFileAtomic(p, func(w io.Writer) error { _, err := io.WriteString(w, "new"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "new" {
		t.Fatalf("got %q", b)
	}
}

func FuzzQrels(f *testing.F) {
	f.Add([]byte("1 0 184 2\n1 0 29 2\n2 Q0 doc-1 0\n"))
	f.Add([]byte("1185869\t0\t0\t1\n1185868\t0\t16\t1\r\n"))
	f.Add([]byte("301 0 FBIS3-10082 1\n301 0 FBIS3-10169 -2\n\n"))
	read := func(r *bytes.Buffer) ([]Qrels, error) {
		b := newQrelsBuilder()
		err := readTRECQrels(r, "qrels", b.adder("qrels"))
		return []Qrels{b.qrels}, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "qrels", data)
			return
		}
		roundTrip(t, q, func(b *bytes.Buffer, q []Qrels) error { return encodeTRECQrels(bomWriter(b), q[0]) }, read)
	})
}

func FuzzTRECRun(f *testing.F) {
	f.Add([]byte("1 Q0 184 1 12.75 mimicry\n1 Q0 29 2 -0.5e-3 mimicry\n"))
	f.Add([]byte("q1\tQ0\td1\t1\t1\tbm25\r\n\nq1 Q0 d2 +2 0x1p-2 bm25\n"))
	read := func(r *bytes.Buffer) ([]RunEntry, error) {
		var run []RunEntry
		err := ReadTRECRun(r, "run", func(e RunEntry) error { run = append(run, e); return nil })
		return run, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		run, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "run", data)
			return
		}
		for _, e := range run {
			if !finite(e.Score) {
				t.Fatalf("non-finite score accepted: %#v", e)
			}
		}
		roundTrip(t, run, func(b *bytes.Buffer, r []RunEntry) error { return encodeTRECRun(bomWriter(b), r) }, read)
	})
}
