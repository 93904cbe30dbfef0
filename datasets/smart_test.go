package datasets

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// sharedData returns the directory of a real test collection, ../shared/data/<name> relative to the
// repository root, skipping the test when it is absent.
func sharedData(t testing.TB, name string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root (go.mod) not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real collection %s not available (%v); see ../shared/data/README.md", p, err)
	}
	return p
}

// writeFile writes content to name in dir and returns its path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wantParseError fails unless err is a *ParseError at the given line whose message contains substr.
func wantParseError(t testing.TB, err error, line int, substr string) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("want a *ParseError at line %d containing %q, got %v", line, substr, err)
	}
	if pe.Line != line || !strings.Contains(pe.Msg, substr) {
		t.Fatalf("want a *ParseError at line %d containing %q, got %q", line, substr, err)
	}
	if want := pe.Path + ":"; !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %q does not start with %q", err, want)
	}
}

func readSMARTString(t testing.TB, layout SMARTLayout, in string) ([]SMARTRecord, error) {
	t.Helper()
	var recs []SMARTRecord
	err := ReadSMART(strings.NewReader(in), "test.all", layout, func(r SMARTRecord) error {
		recs = append(recs, r)
		return nil
	})
	return recs, err
}

func TestReadSMARTDotted(t *testing.T) {
	in := "\r\n.I 1\r\n.T\r\nexperimental investigation\r\nof a wing .\r\n.A\r\nbrenckman,m.\r\n.W\r\nexperimental investigation\r\n" +
		"  of a wing .\r\n\r\n  second paragraph .\r\n.I 002\r\n.W first line on the marker\r\nmore\r\n.W\r\nrepeated field\r\n.X\r\n1\t5\t1\r\n"
	recs, err := readSMARTString(t, SMARTDotted, in)
	if err != nil {
		t.Fatal(err)
	}
	want := []SMARTRecord{
		{ID: "1", Line: 2, Fields: map[string]string{
			"T": "experimental investigation\nof a wing .",
			"A": "brenckman,m.",
			"W": "experimental investigation\n  of a wing .\n\n  second paragraph .",
		}},
		{ID: "002", Line: 13, Fields: map[string]string{
			"W": "first line on the marker\nmore\nrepeated field",
			"X": "1\t5\t1",
		}},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Fatalf("got %#v\nwant %#v", recs, want)
	}
}

func TestReadSMARTDottedErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"stray text\n.I 1\n.W\nx\n", 1, "before the first .I"},
		{".W\nx\n", 1, "before the first .I"},
		{".I 1\n.W\nx\n.I\n.W\ny\n", 4, "without a record id"},
		{".I 1 2\n.W\nx\n", 1, "holds white space"},
		{".I 1\ntext right after the id\n", 2, "outside any field"},
	} {
		_, err := readSMARTString(t, SMARTDotted, c.in)
		wantParseError(t, err, c.line, c.substr)
	}
	// A line that starts with "." and a lower-case letter or a digit is text, not a marker.
	recs, err := readSMARTString(t, SMARTDotted, ".I 1\n.W\n.5 mach\n.e.g. this\n.Tx\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Fields["W"]; got != ".5 mach\n.e.g. this\n.Tx" {
		t.Fatalf("W = %q", got)
	}
}

func TestReadSMARTSlashedAndStarred(t *testing.T) {
	npl := "1\ncompact memories have flexible capacities\nsystem is described\n   /\n2\nan electronic analogue\n   /\n"
	recs, err := readSMARTString(t, SMARTSlashed, npl)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "1" || recs[1].Fields["W"] != "an electronic analogue" || recs[1].Line != 5 {
		t.Fatalf("got %#v", recs)
	}
	_, err = readSMARTString(t, SMARTSlashed, "1\ntext\n/\n/\n")
	wantParseError(t, err, 4, "without a record")
	_, err = readSMARTString(t, SMARTSlashed, "1 2\ntext\n/\n")
	wantParseError(t, err, 1, "record id alone")

	time := "*TEXT 017 01/04/63 PAGE 020\n\nTHE ALLIES AFTER NASSAU\n\nPROPOSED TO HELP .\n*TEXT 018 01/04/63 PAGE 021\nSECOND .\n*STOP\n"
	recs, err = readSMARTString(t, SMARTStarred, time)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].ID != "017" || recs[0].Fields["W"] != "THE ALLIES AFTER NASSAU\nPROPOSED TO HELP ." ||
		recs[0].Fields["H"] != "01/04/63 PAGE 020" || recs[1].Line != 6 {
		t.Fatalf("got %#v", recs)
	}
	_, err = readSMARTString(t, SMARTStarred, "*FIND 1\nX .\n*STOP\nmore\n")
	wantParseError(t, err, 4, "after *STOP")
	_, err = readSMARTString(t, SMARTStarred, "text\n*FIND 1\n")
	wantParseError(t, err, 1, "before the first")
	_, err = readSMARTString(t, SMARTStarred, "*FIND\n")
	wantParseError(t, err, 1, "without a record id")
}

func TestCranfieldRelevance(t *testing.T) {
	for code, want := range map[int]int{1: 4, 2: 3, 3: 2, 4: 1, 5: 0, -1: 0} {
		if got, ok := CranfieldRelevance(code); !ok || got != want {
			t.Errorf("CranfieldRelevance(%d) = %d, %v; want %d", code, got, ok, want)
		}
	}
	for _, code := range []int{0, 6, -2} {
		if _, ok := CranfieldRelevance(code); ok {
			t.Errorf("CranfieldRelevance(%d) accepted", code)
		}
	}
}

func TestReadSMARTQrelsFormats(t *testing.T) {
	read := func(format SMARTQrelsFormat, in string) ([]Judgement, error) {
		var js []Judgement
		err := ReadSMARTQrels(strings.NewReader(in), "rel", format, func(j Judgement) error {
			js = append(js, j)
			return nil
		})
		return js, err
	}
	for _, c := range []struct {
		format SMARTQrelsFormat
		in     string
		want   []Judgement
	}{
		{SMARTQrelsCranfield, "1 184 2 \r\n1 29 -1\r\n", []Judgement{{"1", "184", 3}, {"1", "29", 0}}},
		{SMARTQrelsPairs, "01 1410  0 0\n    21      6 0 0.000000\n3 5\n", []Judgement{{"01", "1410", 1}, {"21", "6", 1}, {"3", "5", 1}}},
		{SMARTQrelsTREC, "5 0 1 1\n5 0 2 0\n", []Judgement{{"5", "1", 1}, {"5", "2", 0}}},
		{SMARTQrelsSlashed, "3\n  141   148\n 813\n   /\n4\n9\n   /\n", []Judgement{{"3", "141", 1}, {"3", "148", 1}, {"3", "813", 1}, {"4", "9", 1}}},
		{SMARTQrelsLists, "46   1  20\n\n48 306\n", []Judgement{{"46", "1", 1}, {"46", "20", 1}, {"48", "306", 1}}},
		{SMARTQrelsAuto, "1 184 2\n", []Judgement{{"1", "184", 3}}},
		{SMARTQrelsAuto, "5 0 13 1\n", []Judgement{{"5", "13", 1}}},
		{SMARTQrelsAuto, "10 0046 0 0\n", []Judgement{{"10", "0046", 1}}},
	} {
		got, err := read(c.format, c.in)
		if err != nil {
			t.Fatalf("format %d, %q: %v", c.format, c.in, err)
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Fatalf("format %d, %q: got %v, want %v", c.format, c.in, got, c.want)
		}
	}
	for _, c := range []struct {
		format SMARTQrelsFormat
		in     string
		line   int
		substr string
	}{
		{SMARTQrelsCranfield, "1 184 2\n1 185 7\n", 2, "not a Cranfield code"},
		{SMARTQrelsCranfield, "1 184\n", 1, "want 3 columns"},
		{SMARTQrelsPairs, "1 2 x 0\n", 1, "not a number"},
		{SMARTQrelsTREC, "1 0 2 high\n", 1, "not an integer"},
		{SMARTQrelsLists, "7\n", 1, "followed by document ids"},
		{SMARTQrelsAuto, "1 2 3 4 5\n", 1, "cannot tell"},
	} {
		_, err := read(c.format, c.in)
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestCanonicalID(t *testing.T) {
	for in, want := range map[string]string{"001": "1", "0046": "46", "0": "0", "000": "0", "12": "12", "MED-10": "MED-10", "": ""} {
		if got := CanonicalID(in); got != want {
			t.Errorf("CanonicalID(%q) = %q, want %q", in, got, want)
		}
	}
}

// miniCranfield is a three-document, three-query Cranfield look-alike with the real files' traps: CRLF
// line ends, query numbers that are not the qrels' ids, and relevance codes 1..4 and -1.
func miniCranfield(t *testing.T) string {
	dir := t.TempDir()
	crlf := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	writeFile(t, dir, "cran.all.1400", crlf(".I 1\n.T\nwing in a slipstream .\n.A\nbrenckman,m.\n.B\nj. ae. scs.\n.W\nwing in a slipstream .\n  an experimental study .\n"+
		".I 2\n.T\nshear flow .\n.W\nshear flow .\nviscous .\n.I 3\n.T\nheat .\n.W\nheat conduction .\n"))
	writeFile(t, dir, "cran.qry", crlf(".I 001\n.W\nwhat about wings .\n.I 002\n.W\nshear ?\n.I 004\n.W\nheat conduction in slabs .\n"))
	writeFile(t, dir, "cranqrel", crlf("1 1 1 \n1 2 -1\n2 2 2\n3 3 4\n3 1 3\n"))
	return dir
}

func TestLoadSMARTCranfieldLike(t *testing.T) {
	c, err := LoadSMART(miniCranfield(t))
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "cranfield" || len(c.Docs) != 3 || len(c.Queries) != 3 {
		t.Fatalf("got %s with %d docs, %d queries", c.Name, len(c.Docs), len(c.Queries))
	}
	if d := c.Docs[0]; d.ID != "1" || d.Title != "wing in a slipstream ." || d.Text != "wing in a slipstream . an experimental study ." {
		t.Fatalf("doc 1 = %#v", d)
	}
	if q := c.Queries[2]; q.ID != "3" || q.Text != "heat conduction in slabs ." {
		t.Fatalf("third query (.I 004) = %#v, want id 3", q)
	}
	want := Qrels{"1": {"1": 4, "2": 0}, "2": {"2": 3}, "3": {"3": 1, "1": 2}}
	if !reflect.DeepEqual(c.Qrels, want) {
		t.Fatalf("qrels = %v, want %v", c.Qrels, want)
	}
}

func TestLoadSMARTErrors(t *testing.T) {
	dir := miniCranfield(t)
	writeFile(t, dir, "cranqrel", "1 1 1\n4 1 2\n")
	_, err := LoadSMART(dir)
	wantParseError(t, err, 2, `judges query "4"`)

	writeFile(t, dir, "cranqrel", "1 9 1\n")
	_, err = LoadSMART(dir)
	wantParseError(t, err, 1, `judges document "9"`)

	writeFile(t, dir, "cranqrel", "1 1 1\n1 1 2\n")
	_, err = LoadSMART(dir)
	wantParseError(t, err, 2, "judged 3 here but 4 earlier")

	writeFile(t, dir, "cranqrel", "1 1 1\n")
	writeFile(t, dir, "cran.all.1400", ".I 1\n.W\na\n.I 01\n.W\nb\n")
	_, err = LoadSMART(dir)
	wantParseError(t, err, 4, `duplicate document id "1"`)

	if _, err := LoadSMART(t.TempDir()); err == nil || !strings.Contains(err.Error(), "cran.all.1400") {
		t.Fatalf("empty dir: %v", err)
	}
}

func TestFindSMARTSubdirAndCase(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "med")
	writeFile(t, sub, "med.all", ".I 1\n.W\ncorrelation between maternal and fetal plasma .\n.I 2\n.W\nfatty acids .\n")
	writeFile(t, sub, "MED.QRY", ".I 1\n.W\n the crossing of fatty acids.\n")
	writeFile(t, sub, "MED.REL", "1 0 2 1\n1 0 1 0\n")
	c, err := Load("smart:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "medline" || len(c.Docs) != 2 || c.Qrels["1"]["2"] != 1 || c.Qrels["1"]["1"] != 0 {
		t.Fatalf("got %+v", c)
	}
	// Two collections side by side are ambiguous.
	writeFile(t, dir, "ADI.ALL", ".I 1\n.W\nx\n")
	writeFile(t, dir, "ADI.QRY", ".I 1\n.W\nx\n")
	writeFile(t, dir, "ADI.REL", "1 1 0 0.000000\n")
	if _, err := FindSMART(dir); err == nil || !strings.Contains(err.Error(), "several") {
		t.Fatalf("want an ambiguity error, got %v", err)
	}
	// Explicit files.
	c, err = Load("smart:" + filepath.Join(dir, "ADI.ALL") + "," + filepath.Join(dir, "ADI.QRY") + "," + filepath.Join(dir, "ADI.REL"))
	if err != nil || c.Name != "adi" || c.Qrels["1"]["1"] != 1 {
		t.Fatalf("explicit files: %v, %+v", err, c)
	}
}

func TestLoadSMARTNPLAndTIME(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "doc-text", "1\ncompact memories\n   /\n2\nanalogue computer\n   /\n")
	writeFile(t, dir, "query-text", "1\nMEASUREMENT OF DIELECTRIC CONSTANT\n/\n")
	writeFile(t, dir, "rlv-ass", "1\n 2\n   /\n")
	c, err := LoadSMART(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "npl" || len(c.Docs) != 2 || c.Docs[1].Text != "analogue computer" || c.Qrels["1"]["2"] != 1 {
		t.Fatalf("npl: %+v", c)
	}

	dir = t.TempDir()
	writeFile(t, dir, "TIME.ALL", "*TEXT 017 01/04/63 PAGE 020\n\nTHE ALLIES\n\n*TEXT 563 12/27/63 PAGE 011\n\nLAST ONE .\n*STOP\n")
	writeFile(t, dir, "TIME.QUE", "*FIND     46\n\n PRESIDENT DE GAULLE'S POLICY\n\n*STOP\n")
	writeFile(t, dir, "TIME.REL", "46   2\n\n")
	c, err = LoadSMART(dir)
	if err != nil {
		t.Fatal(err)
	}
	// TIME.REL numbers the articles by position: document "2" is *TEXT 563.
	if c.Name != "time" || c.Docs[1].ID != "2" || c.Docs[1].Text != "LAST ONE ." || c.Queries[0].ID != "46" || c.Qrels["46"]["2"] != 1 {
		t.Fatalf("time: %+v", c)
	}
}

func TestSMARTWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	docs := []Document{{ID: "1", Title: "a title", Text: "first line\n.W looks like a marker\n.I 7 too"}, {ID: "2", Text: "plain"}}
	p := filepath.Join(dir, "x.all")
	if err := WriteSMARTDocs(p, docs); err != nil {
		t.Fatal(err)
	}
	qp := filepath.Join(dir, "x.qry")
	if err := WriteSMARTQueries(qp, []Query{{ID: "1", Text: "q one"}}); err != nil {
		t.Fatal(err)
	}
	rp := writeFile(t, dir, "x.rel", "1 2 0 0\n")
	c, err := LoadSMARTFiles(SMARTFiles{Docs: p, Queries: qp, Qrels: rp})
	if err != nil {
		t.Fatal(err)
	}
	want := []Document{{ID: "1", Title: "a title", Text: "first line .W looks like a marker .I 7 too"}, {ID: "2", Text: "plain"}}
	if !reflect.DeepEqual(c.Docs, want) || c.Queries[0].Text != "q one" || c.Qrels["1"]["2"] != 1 {
		t.Fatalf("round trip: %+v", c)
	}
	if err := WriteSMARTDocs(filepath.Join(dir, "bad"), []Document{{ID: "a b"}}); err == nil {
		t.Fatal("id with a space accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); !os.IsNotExist(err) {
		t.Fatalf("failed write left a file: %v", err)
	}
}

// TestCranfieldReal loads the real Cranfield collection when ../shared/data has it.
func TestCranfieldReal(t *testing.T) {
	dir := sharedData(t, "cranfield")
	c, err := Load("smart:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "cranfield" || len(c.Docs) != 1400 || len(c.Queries) != 225 {
		t.Fatalf("got %s: %d docs, %d queries; want cranfield, 1400, 225", c.Name, len(c.Docs), len(c.Queries))
	}
	if len(c.Qrels) != 225 {
		t.Fatalf("%d judged queries, want 225", len(c.Qrels))
	}
	n := 0
	for _, m := range c.Qrels {
		n += len(m)
	}
	if n != 1837 {
		t.Fatalf("%d judgements, want 1837", n)
	}
	d := c.Docs[0]
	if d.ID != "1" || d.Title != "experimental investigation of the aerodynamics of a wing in a slipstream ." ||
		!strings.HasPrefix(d.Text, d.Title+" an experimental study of a wing in a propeller slipstream") {
		t.Fatalf("doc 1 = %#v", d)
	}
	// Documents 471 and 995 have empty fields in the real file; they are still documents.
	if d := c.Docs[994]; d.ID != "995" || d.Title != "" || d.Text != "" {
		t.Fatalf("doc 995 = %#v, want an empty document", d)
	}
	for _, d := range c.Docs {
		if strings.ContainsRune(d.Title+d.Text, '\r') {
			t.Fatalf("doc %s keeps a carriage return", d.ID)
		}
	}
	// cran.qry's third query is ".I 004"; cranqrel calls it 3.
	if q := c.Queries[2]; q.ID != "3" || !strings.HasPrefix(q.Text, "what problems of heat conduction in composite slabs") {
		t.Fatalf("third query = %#v", q)
	}
	if q := c.Queries[224]; q.ID != "225" {
		t.Fatalf("last query id %q, want 225", q.ID)
	}
	// Spot checks of cranqrel: "1 184 2" → 3, "1 13 4" → 1, "1 486 -1" → 0, and code 1 → 4 somewhere.
	for _, j := range []Judgement{{"1", "184", 3}, {"1", "13", 1}, {"1", "486", 0}, {"3", "5", 2}} {
		if got, ok := c.Qrels[j.QueryID][j.DocID]; !ok || got != j.Relevance {
			t.Errorf("qrels[%s][%s] = %d, %v; want %d", j.QueryID, j.DocID, got, ok, j.Relevance)
		}
	}
	counts := map[int]int{}
	for _, m := range c.Qrels {
		for _, r := range m {
			counts[r]++
		}
	}
	if want := map[int]int{4: 128, 3: 387, 2: 734, 1: 363, 0: 225}; !reflect.DeepEqual(counts, want) {
		t.Errorf("relevance histogram %v, want %v", counts, want)
	}
}

// TestCACMReal loads the real CACM collection when ../shared/data has it.
func TestCACMReal(t *testing.T) {
	dir := sharedData(t, "cacm")
	c, err := Load("smart:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "cacm" || len(c.Docs) != 3204 || len(c.Queries) != 64 || len(c.Qrels) != 52 {
		t.Fatalf("got %s: %d docs, %d queries, %d judged; want cacm, 3204, 64, 52", c.Name, len(c.Docs), len(c.Queries), len(c.Qrels))
	}
	if d := c.Docs[0]; d.ID != "1" || d.Title != "Preliminary Report-International Algebraic Language" || d.Text != "" {
		t.Fatalf("doc 1 = %#v (CACM's first document has no .W)", d)
	}
	if q := c.Queries[0]; q.ID != "1" || !strings.HasPrefix(q.Text, "What articles exist which deal with TSS") {
		t.Fatalf("query 1 = %#v", q)
	}
	// qrels.text writes "01 1410 0 0": query 1, document 1410, relevant.
	for _, j := range []Judgement{{"1", "1410", 1}, {"1", "1572", 1}, {"1", "2358", 1}} {
		if got := c.Qrels[j.QueryID][j.DocID]; got != j.Relevance {
			t.Errorf("qrels[%s][%s] = %d, want %d", j.QueryID, j.DocID, got, j.Relevance)
		}
	}
	unjudged := 0
	for _, q := range c.Queries {
		if _, ok := c.Qrels[q.ID]; !ok {
			unjudged++
		}
	}
	if unjudged != 12 {
		t.Errorf("%d unjudged queries, want 12", unjudged)
	}
}

// smartDocs converts records as LoadSMARTFiles does (without position ids).
func smartDocs(recs []SMARTRecord) []Document {
	var docs []Document
	for _, r := range recs {
		if r.empty() {
			continue
		}
		docs = append(docs, Document{ID: r.ID, Title: collapseSpace(r.Fields["T"]), Text: collapseSpace(r.Fields["W"])})
	}
	return docs
}

func FuzzSMART(f *testing.F) {
	f.Add([]byte(".I 1\r\n.T\r\nexperimental investigation of the aerodynamics of a\r\nwing in a slipstream .\r\n.A\r\nbrenckman,m.\r\n.B\r\nj. ae. scs. 25, 1958, 324.\r\n.W\r\nexperimental investigation\r\n.I 2\r\n.T\r\n.A\r\n.W\r\n"), uint8(0))
	f.Add([]byte(".I 1\n.T\nPreliminary Report\n.B\nCACM December, 1958\n.X\n100\t5\t1\n.I 0\n"), uint8(0))
	f.Add([]byte(".I 001\n.W\nwhat similarity laws .\n.I 002\n.W first\n.W\nsecond\n"), uint8(0))
	f.Add([]byte("1\ncompact memories have flexible capacities\n   /\n2\nan electronic analogue\n   /\n"), uint8(1))
	f.Add([]byte("*TEXT 017 01/04/63 PAGE 020\n\nTHE ALLIES AFTER NASSAU\n*FIND 1\nX .\n*STOP\n"), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, layout uint8) {
		l := SMARTLayout(layout % 3)
		read := func(r *bytes.Buffer) ([]SMARTRecord, error) {
			var recs []SMARTRecord
			err := ReadSMART(r, "fuzz.all", l, func(rec SMARTRecord) error {
				recs = append(recs, rec)
				return nil
			})
			return recs, err
		}
		recs, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "fuzz.all", data)
			return
		}
		last := 0
		for _, r := range recs {
			if r.ID == "" || hasSpace(r.ID) || r.Line <= last {
				t.Fatalf("bad record %#v after line %d", r, last)
			}
			last = r.Line
			for k := range r.Fields {
				if len(k) != 1 || k[0] < 'A' || k[0] > 'Z' {
					t.Fatalf("field name %q", k)
				}
			}
		}
		if l != SMARTDotted {
			return
		}
		roundTrip(t, smartDocs(recs),
			func(b *bytes.Buffer, docs []Document) error { return encodeSMARTDocs(bomWriter(b), docs) },
			func(b *bytes.Buffer) ([]Document, error) {
				recs, err := read(b)
				return smartDocs(recs), err
			})
	})
}

func FuzzSMARTQrels(f *testing.F) {
	f.Add([]byte("1 184 2 \r\n1 29 2 \r\n1 486 -1\r\n"), uint8(1))
	f.Add([]byte("01 1410  0 0\n01 1572  0 0\n"), uint8(2))
	f.Add([]byte("    21      6 0 0.000000\n"), uint8(0))
	f.Add([]byte("5 0 1 1\n5 0 2 1\n"), uint8(3))
	f.Add([]byte("3\n  141   148   813\n 3708\n   /\n"), uint8(4))
	f.Add([]byte("46   1  20  23\n\n47  23  47\n"), uint8(5))
	f.Fuzz(func(t *testing.T, data []byte, format uint8) {
		var js []Judgement
		err := ReadSMARTQrels(bytes.NewReader(data), "fuzz.rel", SMARTQrelsFormat(format%6), func(j Judgement) error {
			js = append(js, j)
			return nil
		})
		if err != nil {
			checkParseErr(t, err, "fuzz.rel", data)
			return
		}
		for _, j := range js {
			if j.QueryID == "" || j.DocID == "" || hasSpace(j.QueryID+j.DocID) || j.Relevance < 0 && format%6 != 3 {
				t.Fatalf("bad judgement %#v", j)
			}
		}
	})
}
