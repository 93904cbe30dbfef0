package models

import (
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestLexicalInitMakesABagOfWords checks that the untrained SPLADE model of the tiny preset
// activates, after LexicalInit, the vocabulary entries of its own tokens and almost nothing else,
// where the random initialisation activates a large part of the vocabulary.
func TestLexicalInitMakesABagOfWords(t *testing.T) {
	cfg, err := NewConfig(PresetTiny, 500)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DType = "float64"
	active := func(lexical bool) [][]int {
		m, err := New(KindSPLADE, cfg, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		if lexical {
			if err := LexicalInit(m, testBackend(t), DefaultLexicalThreshold); err != nil {
				t.Fatal(err)
			}
		}
		vec := runHead(t, m) // [2, 500]
		out := make([][]int, 2)
		for b := range out {
			row := vec[b*cfg.VocabSize : (b+1)*cfg.VocabSize]
			for j, w := range row {
				if w > 0 {
					out[b] = append(out[b], j)
				}
			}
			sort.Slice(out[b], func(i, k int) bool { return row[out[b][i]] > row[out[b][k]] })
		}
		return out
	}
	ids, _, mask := testBatch()
	random, lexical := active(false), active(true)
	for b := range ids {
		var own []int
		for i, id := range ids[b] {
			if mask[b][i] && !slices.Contains(own, int(id)) {
				own = append(own, int(id))
			}
		}
		t.Logf("sequence %d (tokens %v): %d active entries at random, %d lexical, heaviest %v", b, own, len(random[b]), len(lexical[b]), lexical[b][:min(len(lexical[b]), 8)])
		if len(random[b]) < 50 {
			t.Errorf("sequence %d: the random model activates only %d entries; the test expects a dense start", b, len(random[b]))
		}
		if len(lexical[b]) < len(own) || len(lexical[b]) > 3*len(own) {
			t.Errorf("sequence %d: %d active entries after LexicalInit, want between %d and %d", b, len(lexical[b]), len(own), 3*len(own))
			continue
		}
		top := slices.Clone(lexical[b][:len(own)])
		slices.Sort(top)
		slices.Sort(own)
		if !slices.Equal(top, own) {
			t.Errorf("sequence %d: heaviest entries %v, want its own tokens %v", b, top, own)
		}
	}
	m, err := New(KindColBERT, cfg, 8, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := LexicalInit(m, testBackend(t), 1); err == nil || !strings.Contains(err.Error(), "SPLADE") {
		t.Errorf("LexicalInit of a ColBERT model: %v", err)
	}
}
