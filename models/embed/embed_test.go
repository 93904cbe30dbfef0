package embed

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/parity"
	"github.com/mimicry-ir/mimicry/models/safetensors"
)

// The fixtures of package parity: tiny seeded models written by transformers and PyLate, and what
// those libraries computed with them (see models/parity/make_fixtures.py).
var testdata = filepath.Join("..", "parity", "testdata")

func load(t *testing.T, name string) *Encoder {
	t.Helper()
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	e, err := Load(filepath.Join(testdata, name), be)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fixture(t *testing.T, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func get[T float32 | int64](t *testing.T, f *safetensors.File, name string) ([]T, []int) {
	t.Helper()
	x, ok := f.Get(name)
	if !ok {
		t.Fatalf("no tensor %q", name)
	}
	var v any
	var err error
	if _, isF := any(T(0)).(float32); isF {
		v, err = x.Float32s()
	} else {
		v, err = x.Int64s()
	}
	if err != nil {
		t.Fatal(err)
	}
	return v.([]T), x.Shape
}

func maxDiff(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst := 0.0
	for i := range got {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	t.Logf("%s: max |Δ| = %.3g", what, worst)
	if worst > 1e-4 {
		t.Errorf("%s: max |Δ| = %.3g > 1e-4", what, worst)
	}
}

// TestPyLateEncodeMatchesPyLate encodes with the Go tokenizer and model end to end: queries keep
// all query_length positions ([MASK] expansion), documents keep their real, non-punctuation tokens
// — as many as PyLate's encode() returned — with PyLate's embeddings.
func TestPyLateEncodeMatchesPyLate(t *testing.T) {
	e := load(t, "tiny-pylate")
	texts, _, err := parity.Texts()
	if err != nil {
		t.Fatal(err)
	}
	f := fixture(t, "pylate.safetensors")
	for _, c := range []struct {
		what  string
		texts []string
		query bool
	}{{"query", texts[1:9], true}, {"doc", texts[18:26], false}} {
		embs, err := e.Encode(c.texts, c.query)
		if err != nil {
			t.Fatal(err)
		}
		want, shape := get[float32](t, f, c.what+"_embeddings") // [N, L, 16]
		mask, _ := get[int64](t, f, c.what+"_mask")
		ids, _ := get[int64](t, f, c.what+"_ids")
		lengths, _ := get[int64](t, f, c.what+"_encode_lengths")
		skip := map[int64]bool{}
		for id := range e.Tokenizer.(interface{ VocabSize() int }).VocabSize() {
			if tok, _ := e.Tokenizer.IDToToken(id); len(tok) == 1 && strings.Contains(`!"#$%&'()*+,-./:;<=>?@[\]^_`+"`{|}~", tok) {
				skip[int64(id)] = true
			}
		}
		l, d := shape[1], shape[2]
		var got, exp []float32
		for i, emb := range embs {
			if len(emb.TokenVectors) != int(lengths[i]) {
				t.Errorf("%s %d: %d token embeddings, PyLate's encode() gave %d", c.what, i, len(emb.TokenVectors), lengths[i])
				continue
			}
			k := 0
			for j := range l {
				if !c.query && (mask[i*l+j] == 0 || skip[ids[i*l+j]]) {
					continue
				}
				got = append(got, emb.TokenVectors[k]...)
				exp = append(exp, want[(i*l+j)*d:(i*l+j+1)*d]...)
				k++
			}
		}
		maxDiff(t, "PyLate "+c.what+" embeddings (Go tokenizer)", got, exp)
	}
}

// TestSpladeEncodeMatchesTransformers: the SPLADE terms of the tiny BertForMaskedLM, tokenised here,
// are transformers' vectors.
func TestSpladeEncodeMatchesTransformers(t *testing.T) {
	e := load(t, "tiny-mlm")
	e.MaxLen = 48 // the fixture's
	texts, _, err := parity.Texts()
	if err != nil {
		t.Fatal(err)
	}
	embs, err := e.Encode(texts[:16], false)
	if err != nil {
		t.Fatal(err)
	}
	want, shape := get[float32](t, fixture(t, "tiny.safetensors"), "splade")
	got := make([]float32, len(want))
	for i, emb := range embs {
		for term, w := range emb.Terms {
			id, ok := e.Tokenizer.TokenToID(term)
			if !ok {
				t.Fatalf("term %q not in the vocabulary", term)
			}
			got[i*shape[1]+id] = w
		}
	}
	maxDiff(t, "SPLADE vectors (Go tokenizer)", got, want)
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, embs[:1]); err != nil {
		t.Fatal(err)
	}
	var back Embedding
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Text != texts[0] || len(back.Terms) != len(embs[0].Terms) {
		t.Errorf("JSONL round trip: %+v, %v", back, err)
	}
}

func TestCrossEncoderHasNoEmbedding(t *testing.T) {
	e := load(t, "tiny-ce")
	if _, err := e.Encode([]string{"x"}, false); err == nil || !strings.Contains(err.Error(), "pairs") {
		t.Errorf("cross-encoder: %v", err)
	}
}

// TestPaddedBatch: batches run with a power of two rows, capped by the batch size.
func TestPaddedBatch(t *testing.T) {
	for _, c := range []struct{ n, size, want int }{{1, 32, 1}, {3, 32, 4}, {8, 32, 8}, {17, 32, 32}, {20, 24, 24}, {5, 5, 5}} {
		if got := paddedBatch(c.n, c.size); got != c.want {
			t.Errorf("paddedBatch(%d, %d) = %d, want %d", c.n, c.size, got, c.want)
		}
	}
}

// TestCosine: parallel vectors give 1, opposite −1, orthogonal 0, and a zero vector 0.
func TestCosine(t *testing.T) {
	for _, c := range []struct {
		a, b []float32
		want float64
	}{{[]float32{1, 2}, []float32{2, 4}, 1}, {[]float32{1, 0}, []float32{-3, 0}, -1}, {[]float32{1, 0}, []float32{0, 5}, 0}, {[]float32{0, 0}, []float32{1, 1}, 0}} {
		if got := Cosine(c.a, c.b); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Cosine(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
