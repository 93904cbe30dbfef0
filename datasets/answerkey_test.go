package datasets

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func testMeta() AnswerKeyMeta {
	return AnswerKeyMeta{
		Teacher:          "cross-encoder/ms-marco-MiniLM-L-6-v2",
		CheckpointSHA256: strings.Repeat("ab", 32),
		Tokenizer:        "bert-base-uncased",
		MaxQueryLength:   32,
		MaxDocLength:     512,
		Collection:       "cranfield",
		Extra:            map[string]string{"git": "abc123"},
	}
}

func TestAnswerKeyRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.jsonl")
	pairs := []ScoredPair{{"q1", "p1", 1.25}, {"q1", "p\"2", -3.5e-7}, {"q<2>", "p1", 0}, {"q2", "p3", math.MaxFloat64}}
	if err := WriteAnswerKey(p, pairs, testMeta()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), `{"qid":"q1","pid":"p1","score":1.25}`+"\n") {
		t.Fatalf("first line %q", strings.SplitN(string(b), "\n", 2)[0])
	}
	got, meta, err := LoadAnswerKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, pairs) {
		t.Fatalf("pairs %v", got)
	}
	want := testMeta()
	want.Format, want.Pairs = AnswerKeyFormat, 4
	if !reflect.DeepEqual(*meta, want) {
		t.Fatalf("meta %+v", *meta)
	}
	// A truncated key no longer matches its sidecar.
	lines := strings.SplitAfter(string(b), "\n")
	if err := os.WriteFile(p, []byte(strings.Join(lines[:2], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadAnswerKey(p); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("truncated key: %v", err)
	}
	// Without a sidecar the key still loads, with nil metadata.
	os.Remove(AnswerKeyMetaPath(p))
	if got, meta, err := LoadAnswerKey(p); err != nil || meta != nil || len(got) != 2 {
		t.Fatalf("no sidecar: %v %v %v", got, meta, err)
	}
}

func TestAnswerKeyWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.jsonl")
	for _, bad := range []ScoredPair{{"q", "p", math.NaN()}, {"q", "p", math.Inf(-1)}, {"", "p", 1}} {
		err := WriteAnswerKey(p, []ScoredPair{{"q", "ok", 1}, bad}, testMeta())
		if err == nil {
			t.Fatalf("%v accepted", bad)
		}
		ents, _ := os.ReadDir(dir)
		if len(ents) != 0 {
			t.Fatalf("failed write left %v", ents)
		}
	}
	w, err := CreateAnswerKey(p, testMeta())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ScoredPair{"q", "p", 1}); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("Abort left %v", ents)
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after Abort succeeded")
	}
}

func TestReadAnswerKeyErrors(t *testing.T) {
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{`{"qid":"1","pid":"2","score":1}` + "\n" + `{"qid":"1","pid":"2"}`, 2, `missing "score"`},
		{`{"pid":"2","score":1}`, 1, `missing or empty "qid"`},
		{`{"qid":"1","pid":"","score":1}`, 1, `missing or empty "pid"`},
		{`{"qid":"1","pid":"2","score":NaN}`, 1, "invalid JSON"},
		{`{"qid":"1","pid":"2","score":1e999}`, 1, "bad value"},
		{`{"qid":"1","pid":"2","score":"1.5"}`, 1, "bad value"},
		{`{"qid":"1","pid":"2","score":1}{}`, 1, "invalid JSON"},
		{"\n\n" + `{"qid":true,"pid":"2","score":1}`, 3, "neither a string nor an integer"},
	} {
		err := ReadAnswerKey(strings.NewReader(c.in), "key.jsonl", func(ScoredPair) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
	// Integer ids are accepted.
	var got []ScoredPair
	err := ReadAnswerKey(strings.NewReader(`{"qid":12,"pid":"7","score":-1,"extra":[1]}`), "k", func(p ScoredPair) error {
		got = append(got, p)
		return nil
	})
	if err != nil || got[0] != (ScoredPair{"12", "7", -1}) {
		t.Fatalf("got %v %v", got, err)
	}
}

func TestReadAnswerKeyMetaErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key.jsonl")
	if _, err := ReadAnswerKeyMeta(p); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing sidecar: %v", err)
	}
	writeFile(t, dir, "key.jsonl.meta.json", "{\n  \"teacher\": \"x\",\n  \"pairs\": oops\n}\n")
	_, err := ReadAnswerKeyMeta(p)
	wantParseError(t, err, 3, "invalid JSON")
	writeFile(t, dir, "key.jsonl.meta.json", `{"format": "other/9"}`)
	if _, err := ReadAnswerKeyMeta(p); err == nil || !strings.Contains(err.Error(), "other/9") {
		t.Fatalf("unknown format: %v", err)
	}
	writeFile(t, dir, "key.jsonl.meta.json", `{"max_doc_length": -1}`)
	if _, err := ReadAnswerKeyMeta(p); err == nil {
		t.Fatal("negative length accepted")
	}
}

func FuzzAnswerKey(f *testing.F) {
	f.Add([]byte(`{"qid":"1185869","pid":"8841807","score":1.25}` + "\n" + `{"qid":"1185869","pid":"0","score":-7.5e-3}` + "\n"))
	f.Add([]byte(`{"qid":12,"pid":"a\u00e9","score":0,"x":[1,{}]}` + "\r\n\n"))
	f.Add([]byte(`{"qid":"1","pid":"2","score":1e308}`))
	read := func(r *bytes.Buffer) ([]ScoredPair, error) {
		var pairs []ScoredPair
		err := ReadAnswerKey(r, "key.jsonl", func(p ScoredPair) error { pairs = append(pairs, p); return nil })
		return pairs, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "key.jsonl", data)
			return
		}
		for _, p := range pairs {
			if !finite(p.Score) || p.QueryID == "" || p.DocID == "" {
				t.Fatalf("bad pair accepted: %#v", p)
			}
		}
		roundTrip(t, pairs, func(b *bytes.Buffer, ps []ScoredPair) error {
			var line []byte
			for _, p := range ps {
				var err error
				if line, err = appendAnswerKeyLine(line[:0], p); err != nil {
					return err
				}
				b.Write(line)
			}
			return nil
		}, read)
	})
}
