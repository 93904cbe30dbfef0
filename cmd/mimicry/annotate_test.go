package main

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func loadAnswerKey(t *testing.T, path string) ([]datasets.ScoredPair, *datasets.AnswerKeyMeta) {
	t.Helper()
	pairs, meta, err := datasets.LoadAnswerKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta == nil {
		t.Fatalf("%s has no sidecar", path)
	}
	return pairs, meta
}

// TestAnnotateCommandBM25Shards: `annotate --teacher bm25 --bm25-top 5` whole and in two shards, the
// shards merged by `annotate merge`, give the same key.
func TestAnnotateCommandBM25Shards(t *testing.T) {
	dir := t.TempDir()
	whole := filepath.Join(dir, "whole.jsonl")
	common := []string{"annotate", "--teacher", "bm25", "--data", "synthetic:3", "--bm25-top", "5", "--queries", "eval", "--chunk", "150", "--quiet"}
	if code, stderr := runCaptured(t, append(common, "--out", whole)...); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pairs, meta := loadAnswerKey(t, whole)
	if len(pairs) != 1000 || meta.Teacher != "bm25(k1=0.9,b=0.4)" || meta.Collection != "synthetic:3" || meta.Extra["source"] != "bm25-top:5:eval" {
		t.Fatalf("%d pairs, meta %+v", len(pairs), meta)
	}
	var shards []string
	for _, s := range []string{"0/2", "1/2"} {
		out := filepath.Join(dir, "shard"+s[:1]+".jsonl")
		if code, stderr := runCaptured(t, append(common, "--out", out, "--shard", s)...); code != 0 {
			t.Fatalf("shard %s: exit %d: %s", s, code, stderr)
		}
		shards = append(shards, out)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	if code, stderr := runCaptured(t, "annotate", "merge", "--out", merged, shards[1], shards[0]); code != 0 {
		t.Fatalf("merge: exit %d: %s", code, stderr)
	}
	got, _ := loadAnswerKey(t, merged)
	if !reflect.DeepEqual(got, pairs) {
		t.Fatal("merged shards differ from the whole run")
	}
	// Merging a shard twice is refused, and nothing is written.
	bad := filepath.Join(dir, "bad.jsonl")
	if code, stderr := runCaptured(t, "annotate", "merge", "--out", bad, shards[0], shards[0]); code == 0 || !strings.Contains(stderr, "both shard 0/2") {
		t.Fatalf("merging a shard twice: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatal("a failed merge wrote its output")
	}
}

// TestAnnotateCommandCrossEncoder: a cross-encoder folder and BM25 as an ensemble teacher over a
// `mimicry negatives` file, with texts in the file or looked up in --data.
func TestAnnotateCommandCrossEncoder(t *testing.T) {
	dir := t.TempDir()
	// A tiny cross-encoder exported as a Hugging Face folder, in teacher/model/.
	tk := tokenizer.Default()
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 32, 1, 2, 64
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(dir, "teacher")
	if err := models.ExportHF(filepath.Join(teacher, "model"), m, be, tk); err != nil {
		t.Fatal(err)
	}
	withTexts, idsOnly := filepath.Join(dir, "neg-texts.jsonl"), filepath.Join(dir, "neg-ids.jsonl")
	for _, args := range [][]string{
		{"--out", withTexts, "--texts"},
		{"--out", idsOnly},
	} {
		if err := runNegatives(append([]string{"--data", "synthetic:3", "--max-queries", "4", "--count", "3"}, args...)); err != nil {
			t.Fatal(err)
		}
	}

	keyA := filepath.Join(dir, "a.jsonl")
	if code, stderr := runCaptured(t, "annotate", "--teacher", teacher, "--teacher", "bm25", "--pairs", withTexts,
		"--out", keyA, "--max-len", "64", "--batch", "4", "--chunk", "5", "--quiet"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	pairs, meta := loadAnswerKey(t, keyA)
	weights, _ := os.ReadFile(filepath.Join(teacher, "model", models.WeightsFile))
	sum := sha256.Sum256(weights)
	if meta.Teacher != "ensemble(teacher,bm25(per-pair))" || meta.CheckpointSHA256 != hex.EncodeToString(sum[:]) ||
		!strings.HasPrefix(meta.Tokenizer, "tokenizer.json sha256:") || meta.MaxDocLength != 64 ||
		meta.Extra["batch_size"] != "4" || meta.Extra["source"] != "negatives:neg-texts.jsonl" || meta.Pairs != int64(len(pairs)) {
		t.Fatalf("meta %+v", meta)
	}
	if len(pairs) < 4*4 {
		t.Fatalf("%d pairs for 4 groups of ≥ 1 positive and 3 negatives", len(pairs))
	}
	for _, p := range pairs {
		if math.IsNaN(p.Score) || p.Score == 0 {
			t.Fatalf("pair %+v", p)
		}
	}

	// Ids looked up in the collection give the same pairs and scores (the teacher alone this time).
	keyB, keyC := filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	for _, tc := range []struct{ pairs, out string }{{withTexts, keyB}, {idsOnly, keyC}} {
		args := []string{"annotate", "--teacher", teacher, "--pairs", tc.pairs, "--format", "negatives", "--out", tc.out, "--max-len", "64", "--quiet"}
		if tc.pairs == idsOnly {
			args = append(args, "--data", "synthetic:3")
		}
		if code, stderr := runCaptured(t, args...); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	}
	b, _ := loadAnswerKey(t, keyB)
	c, _ := loadAnswerKey(t, keyC)
	if !reflect.DeepEqual(b, c) || len(b) != len(pairs) {
		t.Fatal("texts from the file and texts from --data give different keys")
	}

	// Errors: exit status 1, a message naming the problem, nothing written.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--teacher", teacher, "--pairs", idsOnly}, "--out"},
		{[]string{"--teacher", teacher, "--pairs", idsOnly, "--out", filepath.Join(dir, "x.jsonl")}, "has no text"},
		{[]string{"--teacher", dir, "--pairs", withTexts, "--out", filepath.Join(dir, "x.jsonl")}, "not a model folder"},
		{[]string{"--teacher", "bm25", "--pairs", withTexts, "--format", "kd", "--out", filepath.Join(dir, "x.jsonl")}, "needs --data"},
		{[]string{"--teacher", "bm25", "--pairs", withTexts, "--out", filepath.Join(dir, "x.jsonl"), "--shard", "2/2"}, "shard"},
	} {
		code, stderr := runCaptured(t, append([]string{"annotate", "--quiet"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error containing %q", tc.args, code, stderr, tc.want)
		}
		if _, err := os.Stat(filepath.Join(dir, "x.jsonl")); !os.IsNotExist(err) {
			t.Fatalf("%v: output written", tc.args)
		}
	}
}
