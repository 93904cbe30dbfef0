package distill

import (
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func TestMLMWarmupLearnsAndCopies(t *testing.T) {
	texts := []string{"the wing flow is steady", "heat transfer in the plate", "the wing flow is steady and fast"}
	tk, err := tokenizer.Train(slices.Values(texts), 80, tokenizer.TrainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &models.Config{ModelType: "bert", VocabSize: tk.VocabSize(), HiddenSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2,
		IntermediateSize: 64, HiddenAct: "gelu", MaxPositionEmbeddings: 32, TypeVocabSize: 2, InitializerRange: 0.05,
		LayerNormEps: 1e-12, DType: "float32"}
	mlm, err := models.New(models.KindSPLADE, cfg, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	pairs := [][2]string{{"wing flow", texts[0]}, {"heat", texts[1]}, {"fast wing", texts[2]}}
	res, err := MLMWarmup(pairs, MLMOptions{Model: mlm, Tokenizer: tk, Backend: be, Steps: 60, BatchSize: 16, MaxLen: 32, MaskProb: 0.3,
		Quiet: true, Optimizer: &train.Optimizer{LearningRate: 5e-3, WarmupSteps: 5, ClipNorm: 1}})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Loss, res.FinalLoss
	if !(last < 0.7*first) {
		t.Fatalf("MLM loss did not decrease: %.3f → %.3f", first, last)
	}
	ce, err := models.New(models.KindCrossEncoder, cfg, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := ce.Materialize(be); err != nil {
		t.Fatal(err)
	}
	n, err := CopyEncoder(ce, mlm)
	if err != nil {
		t.Fatal(err)
	}
	if want := 21; n != want { // 5 embedding parameters + 16 per layer
		t.Fatalf("copied %d parameters, want %d", n, want)
	}
	a, _ := mlm.Params()
	b, _ := ce.Params()
	w := "bert.encoder.layer.0.attention.self.query.weight"
	if !slices.Equal(tensors.MustCopyFlatData[float32](a[w]), tensors.MustCopyFlatData[float32](b[w])) {
		t.Fatal("encoder not copied")
	}
}
