package splade

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// randomSparse draws n sparse vectors over vocab terms with up to maxTerms terms each.
func randomSparse(rng *rand.Rand, n, vocab, maxTerms int) []SparseVector {
	out := make([]SparseVector, n)
	for i := range out {
		k := 1 + rng.IntN(maxTerms)
		terms := map[int32]bool{}
		for len(terms) < k {
			terms[int32(rng.IntN(vocab))] = true
		}
		var v SparseVector
		for t := range terms {
			v.Terms = append(v.Terms, t)
		}
		slices.Sort(v.Terms)
		for range v.Terms {
			v.Weights = append(v.Weights, float32(rng.ExpFloat64()))
		}
		out[i] = v
	}
	return out
}

func docIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "d" + string(rune('A'+i%26)) + string(rune('a'+i/26%26)) + string(rune('0'+i/676))
	}
	return ids
}

// bruteForce scores every document of ix (its stored weights) against q and returns the top k as
// (id, score), best first, ties by document number.
func bruteForce(ix *Index, q SparseVector, k int) []struct {
	id    string
	score float64
} {
	type hit struct {
		doc   int
		score float64
	}
	var hits []hit
	for d := range ix.Len() {
		if s := q.Dot(ix.Document(d)); s > 0 {
			hits = append(hits, hit{d, s})
		}
	}
	slices.SortStableFunc(hits, func(a, b hit) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return a.doc - b.doc
	})
	out := make([]struct {
		id    string
		score float64
	}, 0, k)
	for _, h := range hits[:min(k, len(hits))] {
		out = append(out, struct {
			id    string
			score float64
		}{ix.DocID(h.doc), h.score})
	}
	return out
}

// TestSparseIndexSearchEqualsBruteForce: the index's top k equals brute-force dot products with the
// stored weights, for 8 and 16 bits, with and without document pruning.
func TestSparseIndexSearchEqualsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const vocab, n = 200, 300
	docs := randomSparse(rng, n, vocab, 40)
	queries := randomSparse(rng, 25, vocab, 12)
	for _, opts := range []IndexOptions{{}, {Bits: 16}, {MaxDocTerms: 10}} {
		ix, err := BuildIndex(docIDs(n), docs, vocab, opts)
		if err != nil {
			t.Fatal(err)
		}
		for qi, q := range queries {
			got := ix.Search(q, 20)
			want := bruteForce(ix, q, 20)
			if len(got) != len(want) {
				t.Fatalf("%+v query %d: %d hits, brute force %d", opts, qi, len(got), len(want))
			}
			for i := range got {
				if math.Abs(got[i].Score-want[i].score) > 1e-4*math.Max(1, want[i].score) {
					t.Fatalf("%+v query %d rank %d: score %g, brute force %g", opts, qi, i, got[i].Score, want[i].score)
				}
				// Equal documents unless two scores tie within float32 rounding.
				if got[i].DocID != want[i].id && math.Abs(got[i].Score-want[i].score) > 1e-6 {
					t.Fatalf("%+v query %d rank %d: %s, brute force %s", opts, qi, i, got[i].DocID, want[i].id)
				}
			}
		}
	}
	// Pruning keeps exactly the top terms.
	ix, _ := BuildIndex(docIDs(n), docs, vocab, IndexOptions{MaxDocTerms: 10})
	if avg := ix.AvgDocTerms(); avg > 10 {
		t.Fatalf("pruned to 10 terms, average %g", avg)
	}
}

// TestSparseIndexQuantisationErrorBounded: every stored weight is within Scale()/2 of the original,
// every score within Scale()/2·‖q‖₁ of the exact float dot product, and 16 bits are finer than 8.
func TestSparseIndexQuantisationErrorBounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const vocab, n = 150, 200
	docs := randomSparse(rng, n, vocab, 30)
	queries := randomSparse(rng, 20, vocab, 10)
	ids := docIDs(n)
	var maxErr [2]float64
	for b, bits := range []int{8, 16} {
		ix, err := BuildIndex(ids, docs, vocab, IndexOptions{Bits: bits})
		if err != nil {
			t.Fatal(err)
		}
		var maxW float32
		for _, d := range docs {
			maxW = max(maxW, slices.Max(d.Weights))
		}
		if want := maxW / float32(uint32(1)<<bits-1); math.Abs(float64(ix.Scale()-want)) > 1e-6*float64(want) {
			t.Fatalf("%d bits: scale %g, want max/levels = %g", bits, ix.Scale(), want)
		}
		half := float64(ix.Scale()) / 2
		for d := range 20 {
			stored := ix.Document(d)
			for i, term := range docs[d].Terms {
				w := float64(docs[d].Weights[i])
				j, ok := slices.BinarySearch(stored.Terms, term)
				sw := 0.0
				if ok {
					sw = float64(stored.Weights[j])
				}
				if math.Abs(sw-w) > half*(1+1e-5) {
					t.Fatalf("%d bits: doc %d term %d: stored %g, original %g, bound %g", bits, d, term, sw, w, half)
				}
			}
		}
		for _, q := range queries {
			l1 := 0.0
			for _, w := range q.Weights {
				l1 += float64(w)
			}
			exact := map[string]float64{}
			for d := range docs {
				exact[ids[d]] = q.Dot(docs[d])
			}
			for _, h := range ix.Search(q, n) {
				e := math.Abs(h.Score - exact[h.DocID])
				maxErr[b] = max(maxErr[b], e/l1)
				if e > half*l1*(1+1e-4)+1e-5 {
					t.Fatalf("%d bits: %s: score %g, exact %g, error bound %g", bits, h.DocID, h.Score, exact[h.DocID], half*l1)
				}
			}
		}
	}
	t.Logf("largest score error per unit of ‖q‖₁: 8 bits %.2g, 16 bits %.2g", maxErr[0], maxErr[1])
	if !(maxErr[1] < maxErr[0]/10) {
		t.Fatalf("16 bits should be much finer than 8: %g vs %g", maxErr[1], maxErr[0])
	}
}

// TestSparseIndexSaveLoad: a saved index loads back identical, a damaged or truncated file is an
// error naming it, and nothing but the index is left in the directory.
func TestSparseIndexSaveLoad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const vocab, n = 120, 150
	docs := randomSparse(rng, n, vocab, 25)
	queries := randomSparse(rng, 10, vocab, 8)
	dir := t.TempDir()
	for _, bits := range []int{8, 16} {
		ix, err := BuildIndex(docIDs(n), docs, vocab, IndexOptions{Bits: bits})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "ix.splade")
		if err := ix.Save(path); err != nil {
			t.Fatal(err)
		}
		back, err := LoadIndex(path)
		if err != nil {
			t.Fatal(err)
		}
		if back.Len() != n || back.Vocab() != vocab || back.Bits() != bits || back.Scale() != ix.Scale() || back.Postings() != ix.Postings() {
			t.Fatalf("%d bits: loaded %d docs, vocab %d, %d bits, scale %g, %d postings", bits, back.Len(), back.Vocab(), back.Bits(), back.Scale(), back.Postings())
		}
		for _, q := range queries {
			a, b := ix.Search(q, 30), back.Search(q, 30)
			if !slices.Equal(a, b) {
				t.Fatalf("%d bits: search differs after loading", bits)
			}
		}
		data, _ := os.ReadFile(path)
		bad := filepath.Join(dir, "bad.splade")
		for name, content := range map[string][]byte{
			"flipped byte": func() []byte { c := slices.Clone(data); c[len(c)/2] ^= 0x40; return c }(),
			"truncated":    data[:len(data)-7],
			"not an index": []byte("hello"),
		} {
			if err := os.WriteFile(bad, content, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := LoadIndex(bad); err == nil || !strings.Contains(err.Error(), bad) {
				t.Fatalf("%s: want an error naming the file, got %v", name, err)
			}
		}
		os.Remove(bad)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the index", len(entries))
	}
	// A failed save (directory missing) leaves nothing behind and reports the error.
	ix, _ := BuildIndex(docIDs(n), docs, vocab, IndexOptions{})
	if err := ix.Save(filepath.Join(dir, "missing", "ix.splade")); err == nil {
		t.Fatal("saving into a missing directory succeeded")
	}
}

// TestBuildSparseIndexRejectsBadInput: out-of-vocabulary terms, negative or NaN weights, ragged
// vectors and bad bit widths are errors.
func TestBuildSparseIndexRejectsBadInput(t *testing.T) {
	for name, c := range map[string]struct {
		v    SparseVector
		bits int
	}{
		"term out of range": {SparseVector{Terms: []int32{12}, Weights: []float32{1}}, 8},
		"negative weight":   {SparseVector{Terms: []int32{1}, Weights: []float32{-1}}, 8},
		"NaN weight":        {SparseVector{Terms: []int32{1}, Weights: []float32{float32(math.NaN())}}, 8},
		"ragged":            {SparseVector{Terms: []int32{1, 2}, Weights: []float32{1}}, 8},
		"bits":              {SparseVector{Terms: []int32{1}, Weights: []float32{1}}, 12},
	} {
		if _, err := BuildIndex([]string{"a"}, []SparseVector{c.v}, 10, IndexOptions{Bits: c.bits}); err == nil {
			t.Fatalf("%s: no error", name)
		}
	}
}

// TestSparseVectorTopAndTopTerms: pruning keeps the heaviest terms in term order; TopTerms shows them
// as token strings, heaviest first.
func TestSparseVectorTopAndTopTerms(t *testing.T) {
	tk := tokenizer.Default()
	ids := func(words ...string) []int32 {
		var out []int32
		for _, w := range words {
			id, ok := tk.TokenToID(w)
			if !ok {
				t.Fatalf("%q not in the vocabulary", w)
			}
			out = append(out, int32(id))
		}
		return out
	}
	terms := ids("the", "river", "city", "water", "bridge")
	weights := []float32{0.1, 2.5, 1.0, 1.7, 0.4}
	idx := make([]int, len(terms))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(terms[a] - terms[b]) })
	var v SparseVector
	for _, i := range idx {
		v.Terms, v.Weights = append(v.Terms, terms[i]), append(v.Weights, weights[i])
	}
	top := v.Top(3)
	if top.Len() != 3 || !slices.IsSorted(top.Terms) || slices.Min(top.Weights) != 1.0 {
		t.Fatalf("Top(3) = %+v", top)
	}
	got := TopTerms(v, tk, 3)
	want := []TermWeight{{"river", 2.5}, {"water", 1.7}, {"city", 1.0}}
	if !slices.Equal(got, want) {
		t.Fatalf("TopTerms = %v, want %v", got, want)
	}
	if all := TopTerms(v, tk, 0); len(all) != 5 || all[4].Term != "the" {
		t.Fatalf("TopTerms(0) = %v", all)
	}
	if v.Top(0).Len() != 5 || v.Top(10).Len() != 5 {
		t.Fatal("Top(0) and Top(k > len) must keep everything")
	}
}

// TestSpladeEncoderMatchesUnbatched: vectors from the length-bucketed, padded batches equal those of
// each text encoded alone, in the caller's order.
func TestSpladeEncoderMatchesUnbatched(t *testing.T) {
	f := newSpladeFixture(t)
	m := f.newModel(t, 5)
	texts := []string{f.col.Docs[0].Text, "river", f.col.Docs[1].Text + " " + f.col.Docs[2].Text, f.col.Queries[0].Text, ""}
	enc := &Encoder{Model: m, Tokenizer: f.tk, Backend: f.be, BatchSize: 2, Quiet: true}
	got, err := enc.Encode(texts, 48, "texts")
	if err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(f.be, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return models.SpladeVectors(ctx.In(models.ModelScope), m.Config, ids, types, mask)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, text := range texts {
		in, err := models.TextInputs(f.tk, []string{text}, 48)
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Exec(in.IDs, in.TypeIDs, in.Mask)
		if err != nil {
			t.Fatal(err)
		}
		dense := tensors.MustCopyFlatData[float32](out[0])
		want := SparseFromDense(dense)
		if !slices.Equal(got[i].Terms, want.Terms) {
			t.Fatalf("text %d: %d terms batched, %d alone", i, got[i].Len(), want.Len())
		}
		for j := range want.Weights {
			if math.Abs(float64(got[i].Weights[j]-want.Weights[j])) > 1e-5 {
				t.Fatalf("text %d term %d: %g batched, %g alone", i, want.Terms[j], got[i].Weights[j], want.Weights[j])
			}
		}
	}
	// Search over an index of these texts finds a text's own vector first among equals.
	ix, err := BuildIndex([]string{"a", "b", "c", "d", "e"}, got, f.tk.VocabSize(), IndexOptions{Bits: 16})
	if err != nil {
		t.Fatal(err)
	}
	run, st, err := Search(enc, ix, []datasets.Query{{ID: "q", Text: "river"}}, 5, SearchOptions{MaxQueryTerms: 3})
	if err != nil {
		t.Fatal(err)
	}
	if st.AvgQueryTerms > 3 || st.Queries != 1 || len(run["q"]) == 0 {
		t.Fatalf("query pruning or run: %+v %v", st, run)
	}
}
