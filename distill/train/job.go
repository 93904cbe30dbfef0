package train

import (
	"os"
	"path/filepath"
	"slices"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// ChooseTokenizer is the tokenizer choice every job shares: the given one; else the Init checkpoint's;
// else, for vocab > 0, a WordPiece vocabulary of that size trained on the collection and kept in
// outDir/tokenizer (reused when the job runs again); else bert-base-uncased's.
func ChooseTokenizer(given tokenizer.Tokenizer, init string, vocab int, outDir string, col *datasets.Collection) (tokenizer.Tokenizer, error) {
	switch {
	case given != nil:
		return given, nil
	case init != "":
		return models.LoadHFTokenizer(init)
	case vocab <= 0:
		return tokenizer.Default(), nil
	}
	dir := filepath.Join(outDir, "tokenizer")
	if _, err := os.Stat(filepath.Join(dir, tokenizer.TokenizerJSONFileName)); err == nil {
		return tokenizer.LoadFile(dir)
	}
	tk, err := tokenizer.Train(slices.Values(CorpusTexts(col)), vocab, tokenizer.TrainOptions{})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return tk, tk.Save(dir)
}

// CorpusTexts are the texts a vocabulary is trained on: every document and training query (never the
// evaluation queries).
func CorpusTexts(c *datasets.Collection) []string {
	texts := make([]string, 0, len(c.Docs)+len(c.TrainQueries))
	for _, d := range c.Docs {
		texts = append(texts, bm25.Contents(d))
	}
	for _, q := range c.TrainQueries {
		texts = append(texts, q.Text)
	}
	return texts
}
