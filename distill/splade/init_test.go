package splade

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// A checkpoint with a trained MLM head (a SPLADE or BertForMaskedLM folder) keeps it under the
// command line's default LexicalInit; one without (a cross-encoder's body) gets the lexical head.
func TestLexicalInitKeepsATrainedHead(t *testing.T) {
	f := newSpladeFixture(t)
	withHead := filepath.Join(t.TempDir(), "splade")
	src := f.newModel(t, 9)
	if err := models.ExportHF(withHead, src, f.be, f.tk); err != nil {
		t.Fatal(err)
	}
	cfg := tinySpladeConfig()
	cfg.VocabSize = f.tk.VocabSize()
	ce, err := models.New(models.KindCrossEncoder, cfg, 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	noHead := filepath.Join(t.TempDir(), "cross-encoder")
	if err := models.ExportHF(noHead, ce, f.be, f.tk); err != nil {
		t.Fatal(err)
	}
	for dir, want := range map[string]bool{withHead: true, noHead: false} {
		m, _, err := models.ImportHF(dir, models.KindSPLADE, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := hasTrainedMLMHead(m); got != want {
			t.Errorf("hasTrainedMLMHead(%s) = %v, want %v", filepath.Base(dir), got, want)
		}
	}
	bias := func(m *models.Model) []float32 {
		params, err := m.Params()
		if err != nil {
			t.Fatal(err)
		}
		v, err := tensors.CopyFlatData[float32](params[models.SpladeTermBias])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	want := bias(src)
	for _, tc := range []struct {
		init string
		kept bool
	}{{withHead, true}, {noHead, false}} {
		opts := f.options(nil, 1)
		job := &Job{Setup: train.Setup{Collection: f.col, Backend: f.be, OutDir: t.TempDir(), Tokenizer: f.tk, Init: tc.init, Seed: 4},
			Key: f.key, Train: opts, Depth: 10, LexicalInit: true, LexicalThreshold: 2, ZeroShot: true}
		enc, _, err := job.Run()
		if err != nil {
			t.Fatal(err)
		}
		if got := bias(enc.Model); slices.Equal(got, want) != tc.kept {
			t.Errorf("init %s: decoder bias kept = %v, want %v (first entries %v)", filepath.Base(tc.init), !tc.kept, tc.kept, got[:3])
		}
	}
}
