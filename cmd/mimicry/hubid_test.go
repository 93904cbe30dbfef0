package main

import (
	"path/filepath"
	"testing"

	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/parity"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// TestAnnotateTeacherByHubID: `annotate --teacher org/name` resolves the id in the Hugging Face
// cache (offline here) and scores every pair as the same model given as a folder does.
func TestAnnotateTeacherByHubID(t *testing.T) {
	dir := t.TempDir()
	tk := tokenizer.Default()
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 32, 1, 2, 64
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	folder := filepath.Join(dir, "teacher")
	if err := models.ExportHF(folder, m, be, tk); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "hf-cache")
	if _, err := parity.LayOutHubCache(cache, "org/tiny-teacher", "0123456789abcdef0123456789abcdef01234567", folder); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HF_HUB_CACHE", cache)
	t.Setenv("HF_HUB_OFFLINE", "1")
	pairs := filepath.Join(dir, "neg.jsonl")
	if err := runNegatives([]string{"--data", "synthetic:3", "--max-queries", "3", "--count", "2", "--out", pairs, "--texts"}); err != nil {
		t.Fatal(err)
	}
	scores := map[string]map[string]float64{}
	for _, teacher := range []string{folder, "org/tiny-teacher"} {
		key := filepath.Join(dir, filepath.Base(teacher)+".jsonl")
		if code, stderr := runCaptured(t, "annotate", "--teacher", teacher, "--pairs", pairs, "--out", key, "--max-len", "64", "--quiet"); code != 0 {
			t.Fatalf("--teacher %s: exit %d: %s", teacher, code, stderr)
		}
		got, _ := loadAnswerKey(t, key)
		scores[teacher] = map[string]float64{}
		for _, p := range got {
			scores[teacher][p.QueryID+"\t"+p.DocID] = p.Score
		}
	}
	byID := scores["org/tiny-teacher"]
	if len(byID) == 0 || len(byID) != len(scores[folder]) {
		t.Fatalf("%d pairs scored by id, %d by folder", len(byID), len(scores[folder]))
	}
	for k, s := range scores[folder] {
		if byID[k] != s {
			t.Errorf("pair %q: %g by folder, %g by hub id", k, s, byID[k])
		}
	}
}
