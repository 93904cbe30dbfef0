package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// flags is a command's flag set with its usage text: the synopsis line, a paragraph on what the
// command does, then the flags. parse returns flag.ErrHelp after -h, which main treats as success.
type flags struct {
	*flag.FlagSet
	required []string
}

// newFlags starts the flag set of command name; synopsis follows "Usage: mimicry " and about is the
// paragraph printed before the flags.
func newFlags(name, synopsis, about string) *flags {
	f := &flags{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.Usage = func() {
		fmt.Fprintf(f.Output(), "Usage: mimicry %s\n\n", synopsis)
		if about != "" {
			fmt.Fprintf(f.Output(), "%s\n\n", strings.TrimSpace(about))
		}
		fmt.Fprintf(f.Output(), "Flags:\n")
		f.PrintDefaults()
	}
	return f
}

// require marks string flags that must not be empty.
func (f *flags) require(names ...string) { f.required = append(f.required, names...) }

// parse parses args: no positional arguments unless positional is true, and every required flag
// set. A missing one prints the usage and names the flags.
func (f *flags) parse(args []string, positional ...bool) error {
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 && !(len(positional) > 0 && positional[0]) {
		return fmt.Errorf("unexpected arguments %q", f.Args())
	}
	var missing []string
	for _, name := range f.required {
		if fl := f.Lookup(name); fl != nil && fl.Value.String() == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		f.Usage()
		return fmt.Errorf("%s required", joinWords(missing))
	}
	return nil
}

// isSet reports whether the flag was given on the command line.
func (f *flags) isSet(name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

// joinWords joins "a", "b", "c" as "a, b and c is/are".
func joinWords(words []string) string {
	switch len(words) {
	case 1:
		return words[0] + " is"
	default:
		return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1] + " are"
	}
}

// dataFlag adds --data, the collection spec; what says what the command reads from it.
func (f *flags) dataFlag(def, what string) *string {
	return f.String("data", def, "collection spec ("+what+"): "+strings.Join(datasetSpecNames(), ", "))
}

// modelFlags are the flags that say where a job's model and tokenizer come from.
type modelFlags struct {
	preset, init, tokenizer *string
	hidden, layers, vocab   *int
	dropout                 *float64
}

// modelFlags adds --preset, --init, --hidden, --layers, --vocab (and --tokenizer and --dropout
// when asked); initHelp says what --init may be.
func (f *flags) modelFlags(initHelp string, withTokenizer, withDropout bool) *modelFlags {
	m := &modelFlags{
		preset: f.String("preset", models.PresetTiny, "model size when training from scratch: tiny, small or base"),
		init:   f.String("init", "", "Hugging Face folder or hub id org/name[@revision] to start from ("+initHelp+"); empty: from scratch"),
		hidden: f.Int("hidden", 0, "override the preset's hidden size (0: the preset's)"),
		layers: f.Int("layers", 0, "override the preset's number of layers (0: the preset's)"),
		vocab:  f.Int("vocab", 0, "train a WordPiece vocabulary of this size on the corpus (0: the teacher's tokenizer, else bert-base-uncased's)"),
	}
	if withTokenizer {
		m.tokenizer = f.String("tokenizer", "", "tokenizer folder (tokenizer.json or vocab.txt); default: the teacher's, found through the answer key's .meta.json")
	}
	if withDropout {
		m.dropout = f.Float64("dropout", -1, "override the preset's dropout probability (hidden and attention; -1: the preset's)")
	}
	return m
}

// setup loads the --data collection and the backend and returns the job setup these flags describe
// (the tokenizer is left to the caller).
func (m *modelFlags) setup(data, out string, seed int64) (train.Setup, error) {
	col, err := datasets.Load(data)
	if err != nil {
		return train.Setup{}, err
	}
	be, err := backend.Default()
	if err != nil {
		return train.Setup{}, err
	}
	s := train.Setup{Collection: col, Backend: be, OutDir: out, Preset: *m.preset, Init: *m.init, Vocab: *m.vocab, Seed: seed}
	dropout := -1.0
	if m.dropout != nil {
		dropout = *m.dropout
	}
	if *m.hidden <= 0 && *m.layers <= 0 && dropout < 0 {
		return s, nil
	}
	if *m.init != "" {
		return s, errors.New("--hidden, --layers and --dropout shape a model trained from scratch; they cannot be combined with --init")
	}
	if dropout >= 1 {
		return s, fmt.Errorf("--dropout %g: want a probability below 1", dropout)
	}
	cfg, err := models.NewConfig(*m.preset, 1) // the job sets the vocabulary size from its tokenizer
	if err != nil {
		return s, err
	}
	if err := cfg.Resize(*m.hidden, *m.layers); err != nil {
		return s, fmt.Errorf("--hidden %d --layers %d: %w", *m.hidden, *m.layers, err)
	}
	if dropout >= 0 {
		cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb = dropout, dropout
	}
	s.Config = cfg
	return s, nil
}

// trainFlags are the flags of a training loop.
type trainFlags struct {
	steps, queries, ckptEvery *int
	lr                        *float64
	seed                      *int64
	quiet                     *bool
}

// trainFlags adds --steps, --lr, --queries-per-batch, --checkpoint-every, --seed and --quiet with
// the given defaults.
func (f *flags) trainFlags(steps int, lr float64, queries int) *trainFlags {
	return &trainFlags{
		steps:     f.Int("steps", steps, "optimisation steps"),
		lr:        f.Float64("lr", lr, "peak learning rate (AdamW; linear warm-up over 10% of the steps, then linear decay)"),
		queries:   f.Int("queries-per-batch", queries, "training queries per step"),
		ckptEvery: f.Int("checkpoint-every", 50, "save a checkpoint every so many steps"),
		seed:      f.Int64("seed", 42, "random seed (data order, sampling, initialisation)"),
		quiet:     f.Bool("quiet", false, "no progress bars"),
	}
}

// check validates the training flags.
func (t *trainFlags) check() error {
	if *t.steps <= 0 || *t.queries <= 0 || *t.ckptEvery <= 0 {
		return errors.New("--steps, --queries-per-batch and --checkpoint-every must be positive")
	}
	if !(*t.lr > 0) {
		return fmt.Errorf("--lr %g: want a positive learning rate", *t.lr)
	}
	return nil
}

// optimizer is AdamW with the flags' learning rate, warm-up over 10% of the steps, weight decay 0.01
// and gradient clipping at norm 1: every job's optimizer on the command line.
func (t *trainFlags) optimizer() *train.Optimizer {
	return &train.Optimizer{LearningRate: *t.lr, WarmupSteps: *t.steps / 10, WeightDecay: 0.01, ClipNorm: 1}
}

// studentTokenizer is a student's tokenizer: --tokenizer's (a folder, its model/ subfolder, or a
// file), nil when the job makes its own (--init's, or --vocab trains one), else the tokenizer of the
// teacher that wrote the answer key (annotate.FindTeacher). It also returns the folder it came from.
func (m *modelFlags) studentTokenizer(keyPath string, meta *datasets.AnswerKeyMeta) (tokenizer.Tokenizer, string, error) {
	hint := "give the teacher's tokenizer with --tokenizer DIR (e.g. the `mimicry train teacher` output), or train one with --vocab N"
	switch {
	case *m.tokenizer != "":
		for _, dir := range []string{*m.tokenizer, filepath.Join(*m.tokenizer, "model")} {
			if tk, err := models.LoadHFTokenizer(dir); err == nil {
				return tk, dir, nil
			}
		}
		tk, err := tokenizer.LoadFile(*m.tokenizer)
		if err != nil {
			return nil, "", fmt.Errorf("--tokenizer %s: %w", *m.tokenizer, err)
		}
		return tk, filepath.Dir(*m.tokenizer), nil
	case *m.init != "" || *m.vocab > 0:
		return nil, "", nil
	}
	dir, err := annotate.FindTeacher(keyPath, meta)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s", err, hint)
	}
	tk, err := models.LoadHFTokenizer(dir)
	return tk, dir, err
}

// studentSetup is what the student commands share: the answer key at keyPath with its metadata, and
// the job setup with the teacher's tokenizer (studentTokenizer, announced on stderr unless quiet) and
// the folder it came from.
func (m *modelFlags) studentSetup(command, keyPath, data, out string, tr *trainFlags) (train.Setup, []datasets.ScoredPair, *datasets.AnswerKeyMeta, string, error) {
	key, meta, err := readAnswerKey(keyPath)
	if err != nil {
		return train.Setup{}, nil, nil, "", err
	}
	setup, err := m.setup(data, out, *tr.seed)
	if err != nil {
		return train.Setup{}, nil, nil, "", err
	}
	tk, dir, err := m.studentTokenizer(keyPath, meta)
	if err != nil {
		return train.Setup{}, nil, nil, "", err
	}
	if tk != nil && !*tr.quiet {
		fmt.Fprintf(os.Stderr, "%s: tokenizer from %s (%d tokens)\n", command, dir, tk.VocabSize())
	}
	setup.Tokenizer = tk
	return setup, key, meta, dir, nil
}

// readAnswerKey reads an answer key and its metadata, refusing an empty key.
func readAnswerKey(path string) ([]datasets.ScoredPair, *datasets.AnswerKeyMeta, error) {
	key, meta, err := datasets.LoadAnswerKey(path)
	if err != nil {
		return nil, nil, err
	}
	if len(key) == 0 {
		return nil, nil, fmt.Errorf("%s: the answer key is empty", path)
	}
	return key, meta, nil
}
