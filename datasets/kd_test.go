package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestMarginMSETSV(t *testing.T) {
	in := "4.7424\t-5.6154\t604568\t2367245\t7395958\n\n1.0\t0\tq\tp\tn\r\n"
	var ts []MarginTriple
	err := ReadMarginMSETSV(strings.NewReader(in), "scores.tsv", func(m MarginTriple) error {
		ts = append(ts, m)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []MarginTriple{{"604568", "2367245", "7395958", 4.7424, -5.6154}, {"q", "p", "n", 1, 0}}
	if !reflect.DeepEqual(ts, want) {
		t.Fatalf("got %v", ts)
	}
	p := filepath.Join(t.TempDir(), "out.tsv")
	if err := WriteMarginMSETSV(p, want); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMarginMSETSV(p)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip %v %v", got, err)
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"1\t2\t3\t4\n", 1, "want 5"},
		{"1\t2\t3\t4\t5\nNaN\t2\t3\t4\t5\n", 2, "pos_score"},
		{"1\t+Inf\t3\t4\t5\n", 1, "neg_score"},
		{"1\tinfinity\t3\t4\t5\n", 1, "not finite"},
		{"x\t2\t3\t4\t5\n", 1, "not a number"},
		{"1\t2\t\t4\t5\n", 1, "qid"},
		{"1\t2\t3\t4 4\t5\n", 1, "pid_pos"},
	} {
		err := ReadMarginMSETSV(strings.NewReader(c.in), "scores.tsv", func(MarginTriple) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestPyLateKD(t *testing.T) {
	in := `{"query_id": 121352, "document_ids": ["2259784", 4923159], "scores": [0.9, -1.5e-3]}` + "\n" +
		`{"query_id": "q2", "document_ids": "['a', \"b\", 7]", "scores": "[1, 2.5, -3e-05]"}` + "\n"
	var ex []KDExample
	err := ReadPyLateKD(strings.NewReader(in), "kd.jsonl", func(e KDExample) error {
		ex = append(ex, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []KDExample{
		{"121352", []string{"2259784", "4923159"}, []float64{0.9, -1.5e-3}},
		{"q2", []string{"a", "b", "7"}, []float64{1, 2.5, -3e-05}},
	}
	if !reflect.DeepEqual(ex, want) {
		t.Fatalf("got %v", ex)
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{`{"document_ids": ["1"], "scores": [1]}`, 1, `missing or empty "query_id"`},
		{`{"query_id": 1, "scores": [1]}`, 1, `"document_ids": missing`},
		{`{"query_id": 1, "document_ids": ["1"]}`, 1, `"scores": missing`},
		{`{"query_id": 1, "document_ids": ["1", "2"], "scores": [1]}`, 1, "2 document_ids but 1 scores"},
		{`{"query_id": 1, "document_ids": [], "scores": []}`, 1, "empty"},
		{`{"query_id": 1, "document_ids": [""], "scores": [1]}`, 1, "empty id"},
		{`{"query_id": 1, "document_ids": ["1"], "scores": [null]}`, 1, "item 0 is null"},
		{`{"query_id": 1, "document_ids": "['1'", "scores": [1]}`, 1, "not a list literal"},
		{`{"query_id": 1, "document_ids": "['1]", "scores": [1]}`, 1, "unterminated"},
		{`{"query_id": 1, "document_ids": "[x]", "scores": [1]}`, 1, "neither a string nor an integer"},
		{`{"query_id": 1, "document_ids": ["1"], "scores": "[nan]"}`, 1, "not finite"},
		{`{"query_id": 1, "document_ids": ["1"], "scores": "[inf]"}`, 1, "not finite"},
		{`{"query_id": 1, "document_ids": ["1"], "scores": "['1']"}`, 1, "is a string"},
		{`{"query_id": 1, "document_ids": ["1", "2"], "scores": "[1 2]"}`, 1, "want ','"},
		{`{"query_id": 1, "document_ids": ["1"], "scores": "[,1]"}`, 1, "empty item"},
	} {
		err := ReadPyLateKD(strings.NewReader(c.in), "kd.jsonl", func(KDExample) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestPyLateKDWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "kd.jsonl")
	numeric := []KDExample{{"1", []string{"10", "0"}, []float64{1, 2}}}
	if err := WritePyLateKD(p, numeric); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != `{"query_id":1,"document_ids":[10,0],"scores":[1,2]}`+"\n" {
		t.Fatalf("numeric ids written as %q", b)
	}
	mixed := []KDExample{{"1", []string{"10", "d-7"}, []float64{1.5, -2}}, {"q 2", []string{"007"}, []float64{0}}}
	if err := WritePyLateKD(p, mixed); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(p)
	if !strings.HasPrefix(string(b), `{"query_id":"1","document_ids":["10","d-7"]`) {
		t.Fatalf("mixed ids written as %q", b)
	}
	got, err := LoadPyLateKD(p)
	if err != nil || !reflect.DeepEqual(got, mixed) {
		t.Fatalf("round trip %v %v", got, err)
	}
	if err := WritePyLateKD(p, []KDExample{{"1", []string{"a"}, nil}}); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestHardNegatives(t *testing.T) {
	in := `{"qid": 571018, "pos": [7349777, 7349778], "neg": {"bm25": [1, 2], "msmarco-distilbert-base-tas-b": ["3"]}}` + "\n" +
		`{"qid": "q2", "pos": [], "neg": {}}` + "\n"
	var hs []HardNegatives
	err := ReadHardNegatives(strings.NewReader(in), "hn.jsonl", func(h HardNegatives) error {
		hs = append(hs, h)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []HardNegatives{
		{"571018", []string{"7349777", "7349778"}, map[string][]string{"bm25": {"1", "2"}, "msmarco-distilbert-base-tas-b": {"3"}}},
		{"q2", []string{}, map[string][]string{}},
	}
	if !reflect.DeepEqual(hs, want) {
		t.Fatalf("got %#v", hs)
	}
	p := filepath.Join(t.TempDir(), "hn.jsonl.gz")
	if err := WriteHardNegatives(p, want[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := LoadHardNegatives(p)
	if err != nil || !reflect.DeepEqual(got, want[:1]) {
		t.Fatalf("round trip %v %v", got, err)
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{`{"pos": [1], "neg": {}}`, 1, `missing or empty "qid"`},
		{`{"qid": 1, "neg": {}}`, 1, `missing "pos"`},
		{`{"qid": 1, "pos": [1]}`, 1, `missing "neg"`},
		{`{"qid": 1, "pos": [""], "neg": {}}`, 1, "empty id"},
		{`{"qid": 1, "pos": [1], "neg": {"bm25": [""]}}`, 1, "empty id"},
		{`{"qid": 1, "pos": [1], "neg": {"bm25": 5}}`, 1, "bad value"},
		{`{"qid": 1, "pos": [1.5], "neg": {}}`, 1, "neither a string nor an integer"},
	} {
		err := ReadHardNegatives(strings.NewReader(c.in), "hn.jsonl", func(HardNegatives) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
}

func TestConverters(t *testing.T) {
	key := []ScoredPair{
		{"q1", "p1", 9}, {"q1", "n1", 1}, {"q1", "n2", 2}, {"q1", "p1", 9},
		{"q2", "n3", 0.5}, // no positive scored
		{"q3", "p3", 4},   // no negative scored
	}
	kd, err := AnswerKeyToKD(key)
	if err != nil {
		t.Fatal(err)
	}
	wantKD := []KDExample{
		{"q1", []string{"p1", "n1", "n2"}, []float64{9, 1, 2}},
		{"q2", []string{"n3"}, []float64{0.5}},
		{"q3", []string{"p3"}, []float64{4}},
	}
	if !reflect.DeepEqual(kd, wantKD) {
		t.Fatalf("AnswerKeyToKD: %v", kd)
	}
	back, err := KDToAnswerKey(kd)
	if err != nil || len(back) != 5 || back[2] != (ScoredPair{"q1", "n2", 2}) {
		t.Fatalf("KDToAnswerKey: %v %v", back, err)
	}
	if _, err := AnswerKeyToKD([]ScoredPair{{"q", "p", 1}, {"q", "p", 2}}); err == nil {
		t.Fatal("conflicting scores accepted")
	}

	positives := Qrels{"q1": {"p1": 2, "n1": 0}, "q3": {"p3": 1}}
	triples, skipped, err := AnswerKeyToMarginMSE(key, MarginOptions{Positives: positives})
	if err != nil {
		t.Fatal(err)
	}
	wantTriples := []MarginTriple{{"q1", "p1", "n1", 9, 1}, {"q1", "p1", "n2", 9, 2}}
	if !reflect.DeepEqual(triples, wantTriples) || !reflect.DeepEqual(skipped, []string{"q2", "q3"}) {
		t.Fatalf("AnswerKeyToMarginMSE: %v skipped %v", triples, skipped)
	}
	triples, _, _ = AnswerKeyToMarginMSE(key, MarginOptions{Positives: positives, MaxNegativesPerPositive: 1})
	if len(triples) != 1 {
		t.Fatalf("MaxNegativesPerPositive: %v", triples)
	}
	// MinRelevance 2 keeps p1 (relevance 2) as the only positive.
	triples, _, _ = AnswerKeyToMarginMSE(key, MarginOptions{Positives: Qrels{"q1": {"p1": 2, "n1": 1}}, MinRelevance: 2})
	if len(triples) != 2 || triples[0].NegID != "n1" {
		t.Fatalf("MinRelevance: %v", triples)
	}
	if _, _, err := AnswerKeyToMarginMSE(key, MarginOptions{}); err == nil {
		t.Fatal("missing positives accepted")
	}

	pairs, err := MarginMSEToAnswerKey(append(wantTriples, MarginTriple{"q1", "p1", "n1", 9 + 1e-6, 1}))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(pairs, []ScoredPair{{"q1", "p1", 9}, {"q1", "n1", 1}, {"q1", "n2", 2}}) {
		t.Fatalf("MarginMSEToAnswerKey: %v", pairs)
	}
	if _, err := MarginMSEToAnswerKey(append(wantTriples, MarginTriple{"q1", "p1", "n1", 8, 1})); err == nil {
		t.Fatal("conflicting Margin-MSE scores accepted")
	}
	kd2, err := MarginMSEToKD(wantTriples)
	if err != nil || !reflect.DeepEqual(kd2, wantKD[:1]) {
		t.Fatalf("MarginMSEToKD: %v %v", kd2, err)
	}
	tr2, _, err := KDToMarginMSE(kd2, MarginOptions{Positives: positives})
	if err != nil || !reflect.DeepEqual(tr2, wantTriples) {
		t.Fatalf("KDToMarginMSE: %v %v", tr2, err)
	}
}

func FuzzPyLateKD(f *testing.F) {
	f.Add([]byte(`{"query_id": 121352, "document_ids": ["2259784", "4923159"], "scores": [0.9, -1.5e-3]}` + "\n"))
	f.Add([]byte(`{"query_id": "q", "document_ids": "['a', \"b\\n\", 7,]", "scores": "[1, 2.5, -3e-05]"}`))
	read := func(r *bytes.Buffer) ([]KDExample, error) {
		var ex []KDExample
		err := ReadPyLateKD(r, "kd.jsonl", func(e KDExample) error { ex = append(ex, e); return nil })
		return ex, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ex, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "kd.jsonl", data)
			return
		}
		for _, e := range ex {
			if len(e.DocIDs) == 0 || len(e.DocIDs) != len(e.Scores) {
				t.Fatalf("inconsistent example accepted: %#v", e)
			}
			for _, s := range e.Scores {
				if !finite(s) {
					t.Fatalf("non-finite score accepted: %#v", e)
				}
			}
		}
		roundTrip(t, ex, func(b *bytes.Buffer, ex []KDExample) error { return encodePyLateKD(bomWriter(b), ex) }, read)
	})
}

func FuzzMarginMSETSV(f *testing.F) {
	f.Add([]byte("4.7424\t-5.6154\t604568\t2367245\t7395958\n1.0\t0\tq\tp\tn\r\n"))
	f.Add([]byte("\n-0\t1e-300\t1\t2\t3"))
	read := func(r *bytes.Buffer) ([]MarginTriple, error) {
		var ts []MarginTriple
		err := ReadMarginMSETSV(r, "scores.tsv", func(m MarginTriple) error { ts = append(ts, m); return nil })
		return ts, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ts, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "scores.tsv", data)
			return
		}
		for _, m := range ts {
			if !finite(m.PosScore) || !finite(m.NegScore) {
				t.Fatalf("non-finite score accepted: %#v", m)
			}
		}
		roundTrip(t, ts, func(b *bytes.Buffer, ts []MarginTriple) error { return encodeMarginMSETSV(bomWriter(b), ts) }, read)
	})
}

func FuzzHardNegatives(f *testing.F) {
	f.Add([]byte(`{"qid": 571018, "pos": [7349777, 7349778], "neg": {"bm25": [1, 2], "msmarco-distilbert-base-tas-b": ["3"]}}` + "\n"))
	f.Add([]byte(`{"qid": "q", "pos": [], "neg": {"": null}}`))
	read := func(r *bytes.Buffer) ([]HardNegatives, error) {
		var hs []HardNegatives
		err := ReadHardNegatives(r, "hn.jsonl", func(h HardNegatives) error { hs = append(hs, h); return nil })
		return hs, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		hs, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "hn.jsonl", data)
			return
		}
		roundTrip(t, hs, func(b *bytes.Buffer, hs []HardNegatives) error { return encodeHardNegatives(bomWriter(b), hs) }, read)
	})
}
