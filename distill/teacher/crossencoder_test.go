package teacher

import (
	"math"
	"testing"

	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func tinyCrossEncoder(t testing.TB) (*models.Model, *tokenizer.WordPiece) {
	t.Helper()
	tk := tokenizer.Default()
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	cfg.NumHiddenLayers = 1
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	return m, tk
}

// TestCrossEncoderBucketingKeepsOrder: length bucketing changes the batches, not the scores nor their order.
func TestCrossEncoderBucketingKeepsOrder(t *testing.T) {
	m, tk := tinyCrossEncoder(t)
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	qs := []string{"a b c d e f g h", "x", "wing flow", "heat transfer in a plate", "y", "long long long long long query text here"}
	ps := []string{"short", "a much longer passage about wings and flows and plates", "wing", "plate heat", "p", "q"}
	bucketed := &CrossEncoder{Model: m, Tokenizer: tk, Backend: be, MaxLen: 64, BatchSize: 2}
	plain := &CrossEncoder{Model: m, Tokenizer: tk, Backend: be, MaxLen: 64, BatchSize: 2, NoBucketing: true}
	single := &CrossEncoder{Model: m, Tokenizer: tk, Backend: be, MaxLen: 64, BatchSize: 1}
	a, err := bucketed.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	b, err := plain.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	c, err := single.Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if math.Abs(a[i]-c[i]) > 1e-4 || math.Abs(b[i]-c[i]) > 1e-4 {
			t.Fatalf("pair %d: bucketed %g, unbucketed %g, one by one %g", i, a[i], b[i], c[i])
		}
	}
	if _, err := bucketed.Score(qs, ps[:2]); err == nil {
		t.Fatal("mismatched lengths accepted")
	}
	e := score.Ensemble{bucketed, single}
	avg, err := e.Score(qs[:1], ps[:1])
	if err != nil || math.Abs(avg[0]-c[0]) > 1e-4 {
		t.Fatalf("ensemble of equal scorers: %v %v", avg, err)
	}
}
