//go:build hftokenizers

package hf

import (
	"testing"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
	"github.com/mimicry-ir/mimicry/models/tokenizer/parity"
)

// BenchmarkEncode encodes the same batch of scifact abstracts (the first 500 of
// ../shared/data/scifact/corpus.jsonl) with the pure-Go WordPiece and with Hugging Face's Rust
// tokenizers through this binding, in one run; it reports tokens/s. Compare the two with
//
//	go test -tags hftokenizers -run '^$' -bench Encode ./models/tokenizer/hf/
func BenchmarkEncode(b *testing.B) {
	dir, err := parity.SharedDataDir()
	if err != nil {
		b.Skip(err)
	}
	texts, err := parity.DataTexts(dir, "scifact/corpus.jsonl#text")
	if err != nil {
		b.Fatal(err)
	}
	texts = texts[:min(500, len(texts))]
	rust := load(b, defaultJSON(b))
	for _, c := range []struct {
		name string
		tk   tokenizer.Tokenizer
	}{{"pure-go", tokenizer.Default()}, {"hf-rust-cgo", rust}} {
		b.Run(c.name, func(b *testing.B) {
			bytes, tokens := 0, 0
			for _, t := range texts {
				bytes += len(t)
			}
			b.SetBytes(int64(bytes))
			for b.Loop() {
				tokens = 0
				for _, t := range texts {
					tokens += len(c.tk.Encode(t))
				}
			}
			b.ReportMetric(float64(tokens)*float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
