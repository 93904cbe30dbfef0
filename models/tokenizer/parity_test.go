package tokenizer_test

import (
	"testing"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
	"github.com/mimicry-ir/mimicry/models/tokenizer/parity"
)

// TestParityDefault checks the embedded bert-base-uncased tokenizer against Hugging Face's ids
// (models/tokenizer/parity's fixture).
func TestParityDefault(t *testing.T) {
	parity.Check(t, parity.BertBaseUncased, tokenizer.Default(), parity.Options{})
}

// TestParityTokenizerJSON loads the tokenizer.json files that Hugging Face's tokenizers used for
// the fixture (copied by make_fixtures.py; skipped when absent) and checks them against it.
func TestParityTokenizerJSON(t *testing.T) {
	for _, model := range []string{parity.BertBaseUncased, parity.MiniLM} {
		t.Run(model, func(t *testing.T) {
			path, err := parity.TokenizerJSON(model)
			if err != nil {
				t.Skip(err)
			}
			tk, err := tokenizer.LoadTokenizerJSON(path)
			if err != nil {
				t.Fatal(err)
			}
			parity.Check(t, model, tk, parity.Options{})
		})
	}
}

// TestParityNormalization checks the BERT normaliser alone, under several settings, against
// Hugging Face's BertNormalizer.
func TestParityNormalization(t *testing.T) {
	parity.CheckNormalization(t)
}
