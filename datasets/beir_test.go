package datasets

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// miniBEIR writes a small BEIR dataset with test and train splits.
func miniBEIR(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "corpus.jsonl", `{"_id": "d1", "title": "Alpha", "text": "alpha text", "metadata": {"url": "x"}}`+"\n"+
		`{"_id": 2, "text": "numeric id, no title"}`+"\n\n"+
		`{"_id": "d3", "title": "", "text": ""}`+"\n")
	writeFile(t, dir, "queries.jsonl", `{"_id": "q1", "text": "first"}`+"\n"+`{"_id": "q2", "text": "second"}`+"\n"+`{"_id": "q3", "text": "third"}`+"\n")
	writeFile(t, dir, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\t2\t0\n")
	writeFile(t, dir, "qrels/train.tsv", "query-id\tcorpus-id\tscore\nq2\td3\t2\nq1\td3\t1\n")
	return dir
}

func TestLoadBEIR(t *testing.T) {
	dir := miniBEIR(t)
	c, err := Load("beir:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	wantDocs := []Document{{ID: "d1", Title: "Alpha", Text: "alpha text"}, {ID: "2", Text: "numeric id, no title"}, {ID: "d3"}}
	if !reflect.DeepEqual(c.Docs, wantDocs) {
		t.Fatalf("docs %#v", c.Docs)
	}
	if !reflect.DeepEqual(c.Queries, []Query{{ID: "q1", Text: "first"}}) || !reflect.DeepEqual(c.Qrels, Qrels{"q1": {"d1": 1, "2": 0}}) {
		t.Fatalf("eval split: %v %v", c.Queries, c.Qrels)
	}
	// q1 is judged in both splits: it stays an evaluation query only.
	if !reflect.DeepEqual(c.TrainQueries, []Query{{ID: "q2", Text: "second"}}) || !reflect.DeepEqual(c.TrainQrels, Qrels{"q2": {"d3": 2}}) {
		t.Fatalf("train split: %v %v", c.TrainQueries, c.TrainQrels)
	}
	if c.Name != filepath.Base(dir) {
		t.Errorf("name %q", c.Name)
	}

	c, err = Load("beir:" + dir + ":train")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Queries) != 2 || c.TrainQueries != nil || !strings.HasSuffix(c.Name, ":train") {
		t.Fatalf("train as eval split: %+v", c)
	}
	if _, err := Load("beir:" + dir + ":dev"); err == nil || !strings.Contains(err.Error(), "dev.tsv") {
		t.Fatalf("missing split: %v", err)
	}
}

func TestLoadBEIRErrors(t *testing.T) {
	dir := miniBEIR(t)
	writeFile(t, dir, "qrels/test.tsv", "query-id\tcorpus-id\tscore\nq9\td1\t1\n")
	if _, err := LoadBEIR(dir, ""); err == nil || !strings.Contains(err.Error(), "q9") {
		t.Fatalf("query missing from queries.jsonl: %v", err)
	}
	writeFile(t, dir, "qrels/test.tsv", "q1\td1\t1\nq1\td1\t2\n")
	_, err := LoadBEIR(dir, "")
	wantParseError(t, err, 2, "judged 2 here but 1 earlier")

	writeFile(t, dir, "corpus.jsonl", `{"_id": "d1", "text": "a"}`+"\n"+`{"_id": "d1", "text": "b"}`+"\n")
	_, err = LoadBEIRCorpus(filepath.Join(dir, "corpus.jsonl"))
	wantParseError(t, err, 2, `duplicate document id "d1" (first at line 1)`)
}

func TestReadBEIRErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{`{"_id": "a", "text": "x"}` + "\n" + `{"_id": "b", "text": "y"`, 2, "invalid JSON"},
		{`{"title": "t", "text": "x"}`, 1, `missing or empty "_id"`},
		{`{"_id": "", "text": "x"}`, 1, `missing or empty "_id"`},
		{`{"_id": "a", "title": "t"}`, 1, `missing "text"`},
		{`{"_id": 1.5, "text": "x"}`, 1, "neither a string nor an integer"},
		{`{"_id": "a", "text": 3}`, 1, "bad value"},
		{`["_id", "a"]`, 1, "want a JSON object, got array"},
		{`{"_id": "a", "text": "x"} trailing`, 1, "invalid JSON"},
	} {
		err := ReadBEIRCorpus(strings.NewReader(c.in), "corpus.jsonl", func(Document) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
	err := ReadBEIRQueries(strings.NewReader(`{"_id": "q"}`), "queries.jsonl", func(Query) error { return nil })
	wantParseError(t, err, 1, `missing "text"`)
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"query-id\tcorpus-id\tscore\nq1 d1 1\n", 2, "want 3 tab-separated columns"},
		{"q1\td1\tone\n", 1, "not an integer"},
		{"q1\t\t1\n", 1, "empty query or corpus id"},
		{"q1\td1\t1\nquery-id\tcorpus-id\tscore\n", 2, "not an integer"},
	} {
		err := ReadBEIRQrels(strings.NewReader(c.in), "test.tsv", func(Judgement) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestBEIRWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	docs := []Document{{ID: "d1", Title: "T <&>", Text: "line\nbreak \"quoted\"\ttab"}, {ID: "d2", Text: "ü"}}
	queries := []Query{{ID: "q1", Text: "what?"}}
	qrels := Qrels{"q1": {"d1": 2, "d2": 0}}
	if err := WriteBEIRCorpus(filepath.Join(dir, "corpus.jsonl.gz"), docs); err != nil {
		t.Fatal(err)
	}
	if err := WriteBEIRQueries(filepath.Join(dir, "queries.jsonl"), queries); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "qrels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteBEIRQrels(filepath.Join(dir, "qrels", "test.tsv"), qrels); err != nil {
		t.Fatal(err)
	}
	// The corpus really is gzip-compressed.
	f, err := os.Open(filepath.Join(dir, "corpus.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gzip.NewReader(f); err != nil {
		t.Fatalf("corpus.jsonl.gz is not gzip: %v", err)
	}
	f.Close()
	c, err := LoadBEIR(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Docs, docs) || !reflect.DeepEqual(c.Queries, queries) || !reflect.DeepEqual(c.Qrels, qrels) {
		t.Fatalf("round trip: %+v", c)
	}
	if err := WriteBEIRQrels(filepath.Join(dir, "bad.tsv"), Qrels{"q\t1": {"d": 1}}); err == nil {
		t.Fatal("tab in id accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.tsv")); !os.IsNotExist(err) {
		t.Fatalf("failed write left a file: %v", err)
	}
}

func FuzzBEIRCorpus(f *testing.F) {
	f.Add([]byte(`{"_id": "4983", "title": "Microstructural development of human newborn cerebral white matter", "text": "Alterations of the architecture...", "metadata": {}}` + "\n"))
	f.Add([]byte(`{"_id": 2, "text": ""}` + "\n\n" + `{"_id": "x", "title": null, "text": "\u00e9\ud83d\ude00"}`))
	f.Add([]byte("\ufeff{\"_id\":\"a\",\"text\":\"b\"}\r\n"))
	read := func(r *bytes.Buffer) ([]Document, error) {
		var docs []Document
		err := ReadBEIRCorpus(r, "corpus.jsonl", func(d Document) error { docs = append(docs, d); return nil })
		return docs, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "corpus.jsonl", data)
			return
		}
		roundTrip(t, docs, func(b *bytes.Buffer, d []Document) error { return encodeBEIRCorpus(bomWriter(b), d) }, read)
	})
}

func FuzzBEIRQrels(f *testing.F) {
	f.Add([]byte("query-id\tcorpus-id\tscore\n1\t31715818\t1\n3\t14717500\t1\n"))
	f.Add([]byte("q1\td1\t2\nq1\td2\t0\r\n"))
	read := func(r *bytes.Buffer) ([]Qrels, error) {
		b := newQrelsBuilder()
		err := readBEIRQrels(r, "test.tsv", b.adder("test.tsv"))
		return []Qrels{b.qrels}, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		q, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "test.tsv", data)
			return
		}
		roundTrip(t, q, func(b *bytes.Buffer, q []Qrels) error { return encodeBEIRQrels(bomWriter(b), q[0]) }, read)
	})
}
