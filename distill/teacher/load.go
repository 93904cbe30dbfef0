package teacher

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/internal/files"
	"github.com/mimicry-ir/mimicry/models"
)

// Info identifies a loaded cross-encoder for an answer key's metadata.
type Info struct {
	// WeightsSHA256 is the hex SHA-256 of model.safetensors.
	WeightsSHA256 string
	// Tokenizer names the tokenizer file and its SHA-256 ("tokenizer.json sha256:…").
	Tokenizer string
}

// Load reads a cross-encoder teacher from a Hugging Face folder (or its model/
// subfolder): config.json, model.safetensors and the tokenizer's files. maxLen and batch set the
// scorer's pair length limit and batch size (0: the defaults).
func Load(dir string, be backends.Backend, maxLen, batch int) (*CrossEncoder, Info, error) {
	var info Info
	name := filepath.Base(filepath.Clean(dir))
	mdir, err := models.ResolveDir(dir) // a hub id: its snapshot in the Hugging Face cache
	if err != nil {
		return nil, info, fmt.Errorf("teacher %s: %w", dir, err)
	}
	if st, err := os.Stat(filepath.Join(dir, "model")); err == nil && st.IsDir() {
		mdir = filepath.Join(dir, "model")
	}
	if _, err := os.Stat(filepath.Join(mdir, models.ConfigFile)); err != nil {
		return nil, info, fmt.Errorf("teacher %s: not a model folder (want %s, %s and tokenizer.json, or a model/ subfolder with them, or bm25): %w",
			dir, models.ConfigFile, models.WeightsFile, err)
	}
	m, report, err := models.ImportHF(mdir, models.KindCrossEncoder, 0)
	if err != nil {
		return nil, info, fmt.Errorf("teacher %s: %w", dir, err)
	}
	if len(report.Missing) > 0 {
		return nil, info, fmt.Errorf("teacher %s: not a cross-encoder checkpoint: %s lacks %s", dir, filepath.Join(mdir, models.WeightsFile), strings.Join(report.Missing, ", "))
	}
	tk, err := models.LoadHFTokenizer(mdir)
	tkDir := mdir
	if err != nil && mdir != dir {
		tk, err = models.LoadHFTokenizer(dir)
		tkDir = dir
	}
	if err != nil {
		return nil, info, fmt.Errorf("teacher %s: tokenizer: %w", dir, err)
	}
	if tk.VocabSize() != m.Config.VocabSize {
		return nil, info, fmt.Errorf("teacher %s: the tokenizer has %d tokens but config.json's vocab_size is %d", dir, tk.VocabSize(), m.Config.VocabSize)
	}
	if info.WeightsSHA256, err = files.SHA256(filepath.Join(mdir, models.WeightsFile)); err != nil {
		return nil, info, fmt.Errorf("teacher %s: %w", dir, err)
	}
	for _, f := range []string{"tokenizer.json", "vocab.txt"} {
		if h, err := files.SHA256(filepath.Join(tkDir, f)); err == nil {
			info.Tokenizer = f + " sha256:" + h
			break
		}
	}
	ce := &CrossEncoder{Model: m, Tokenizer: tk, Backend: be, MaxLen: maxLen, BatchSize: batch, Label: name}
	return ce, info, nil
}
