package train

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/eval"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Setup is what every job of the method — the teacher's, ColBERT's, SPLADE's — shares: the data,
// the backend, the output folder, where the model and its tokenizer come from, and the seed. A job
// embeds it and reads it through Tokenizer and Model, so that all jobs start their models the same
// way.
type Setup struct {
	// Collection is the corpus, its queries and judgements; its evaluation queries are never
	// trained on.
	Collection *datasets.Collection
	// Backend runs the graphs.
	Backend backends.Backend
	// OutDir receives the job's checkpoints, metrics.jsonl, model/, runs and JSON report.
	OutDir string
	// Init is a Hugging Face folder to start from (its encoder, and its head when it has the job's
	// kind); empty: from scratch.
	Init string
	// Preset is the model size without Init: models.PresetTiny [default], PresetSmall or PresetBase.
	Preset string
	// Config, when set, is used instead of Preset's configuration (its VocabSize is the tokenizer's).
	Config *models.Config
	// Tokenizer encodes the texts (for students, normally the teacher's). Nil: Init's; else a
	// WordPiece vocabulary of Vocab tokens trained on the corpus (kept in OutDir/tokenizer); else
	// bert-base-uncased's.
	Tokenizer tokenizer.Tokenizer
	// Vocab > 0 trains a vocabulary of that size when there is neither Tokenizer nor Init (small
	// vocabularies make tiny models fast on the CPU).
	Vocab int
	// Seed drives everything random.
	Seed int64
}

// ChooseTokenizer returns the job's tokenizer (see Setup.Tokenizer). A trained vocabulary is saved
// in OutDir/tokenizer and read back when the job runs again.
func (s *Setup) ChooseTokenizer() (tokenizer.Tokenizer, error) {
	switch {
	case s.Tokenizer != nil:
		return s.Tokenizer, nil
	case s.Init != "":
		return models.LoadHFTokenizer(s.Init)
	case s.Vocab <= 0:
		return tokenizer.Default(), nil
	}
	dir := filepath.Join(s.OutDir, "tokenizer")
	if _, err := os.Stat(filepath.Join(dir, tokenizer.TokenizerJSONFileName)); err == nil {
		return tokenizer.LoadFile(dir)
	}
	tk, err := tokenizer.Train(slices.Values(CorpusTexts(s.Collection)), s.Vocab, tokenizer.TrainOptions{})
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return tk, tk.Save(dir)
}

// NewModel returns the job's model of the given kind for tokenizer tk: Init imported as that kind
// (parameters the checkpoint lacks, e.g. a new head, start fresh and are listed on stderr unless
// quiet), or a fresh model of Config or Preset with tk's vocabulary. dim is a ColBERT model's
// embedding width (0: the checkpoint's, or models.DefaultColBERTDim; ignored for other kinds).
// adjust, when not nil, edits the configuration before the model is returned (an imported one) or
// built (a fresh one): the job's scoring settings, e.g. a residual BM25 weight. job names the job in
// messages.
func (s *Setup) NewModel(job string, kind models.Kind, dim int, tk tokenizer.Tokenizer, quiet bool, adjust func(*models.Config)) (*models.Model, error) {
	if s.Init != "" {
		m, report, err := models.ImportHF(s.Init, kind, s.Seed)
		if err != nil {
			return nil, err
		}
		if dim > 0 && m.ColBERTDim != dim {
			return nil, fmt.Errorf("%s: %s has %d-dimensional embeddings, %d were asked for", job, s.Init, m.ColBERTDim, dim)
		}
		if tk.VocabSize() != m.Config.VocabSize {
			return nil, fmt.Errorf("%s: the tokenizer has %d tokens but %s's vocab_size is %d", job, tk.VocabSize(), s.Init, m.Config.VocabSize)
		}
		if len(report.Missing) > 0 && !quiet {
			fmt.Fprintf(os.Stderr, "%s: %d parameters not in %s are initialised fresh (e.g. %s)\n", job, len(report.Missing), s.Init, report.Missing[0])
		}
		if adjust != nil {
			adjust(m.Config)
		}
		return m, nil
	}
	cfg, err := PresetConfig(s.Preset, s.Config, tk.VocabSize())
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(cfg)
	}
	if kind == models.KindColBERT {
		dim = OrDefault(dim, models.DefaultColBERTDim)
	}
	return models.New(kind, cfg, dim, s.Seed)
}

// PresetConfig is the configuration of a fresh model: a copy of cfg when it is given, else preset's
// (models.PresetTiny when empty), with vocab entries either way.
func PresetConfig(preset string, cfg *models.Config, vocab int) (*models.Config, error) {
	if cfg != nil {
		c := *cfg
		c.VocabSize = vocab
		return &c, nil
	}
	return models.NewConfig(cmp.Or(preset, models.PresetTiny), vocab)
}

// CorpusTexts are the texts a vocabulary or a masked-language-model warm-up is trained on: every
// document and training query (never the evaluation queries).
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

// WriteRun writes a run as a TREC run file, each query's top depth documents, tagged tag.
func WriteRun(path string, run eval.Run, tag string, depth int) error {
	entries, err := datasets.RankRun(run, tag, depth)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := datasets.WriteTRECRun(path, entries); err != nil {
		return fmt.Errorf("writing run %s: %w", path, err)
	}
	return nil
}

// WriteReport writes a job's JSON report (indented, atomically).
func WriteReport(path string, report any) error { return files.WriteJSON(path, report) }
