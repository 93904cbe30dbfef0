package annotate

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// benchPairs makes n pairs of real words (the synthetic collection's) whose encoded length, special
// tokens included, is uniform in [20, 120] tokens: queries of 4–12 words, passages filling the rest.
func benchPairs(b *testing.B, tk tokenizer.Tokenizer, n int) []Pair {
	c, err := datasets.Synthetic(1)
	if err != nil {
		b.Fatal(err)
	}
	var words []string
	for _, d := range c.Docs {
		words = append(words, strings.Fields(bm25.Contents(d))...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	pairs := make([]Pair, n)
	for i := range pairs {
		target := 20 + rng.IntN(101)
		start := rng.IntN(len(words) - 400)
		nq := 4 + rng.IntN(9)
		q := strings.Join(words[start:start+nq], " ")
		budget := target - 3 - len(tk.Encode(q))
		var p []string
		for j := start + nq; ; j++ {
			next := strings.Join(append(p, words[j]), " ")
			if len(tk.Encode(next)) > budget {
				break
			}
			p = append(p, words[j])
		}
		pairs[i] = Pair{QueryID: fmt.Sprintf("q%d", i), DocID: "d", Query: q, Passage: strings.Join(p, " ")}
	}
	return pairs
}

// BenchmarkAnnotate measures annotation throughput (pairs/s) of a tiny cross-encoder (models.PresetTiny,
// bert-base-uncased vocabulary, batches of 32) on 512 pairs of 20–120 tokens, with length bucketing
// and without (teacher.CrossEncoder.NoBucketing), in one run:
//
//	go test -run '^$' -bench Run -benchtime 2x ./distill/
func BenchmarkAnnotate(b *testing.B) {
	tk := tokenizer.Default()
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		b.Fatal(err)
	}
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		b.Fatal(err)
	}
	pairs := benchPairs(b, tk, 512)
	for _, bucketed := range []bool{true, false} {
		name := "bucketed"
		if !bucketed {
			name = "unbucketed"
		}
		// One scorer per variant, shared by the rounds: the first round (b.N = 1) compiles its graphs.
		ce := &teacher.CrossEncoder{Model: m, Tokenizer: tk, Backend: be, BatchSize: 32, NoBucketing: !bucketed}
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			for i := range b.N {
				_, err := Run(Options{
					Teacher: ce, Pairs: SlicePairs(pairs), Out: filepath.Join(dir, fmt.Sprintf("key-%d.jsonl", i)), Quiet: true,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(pairs))/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}
