package train

import (
	"math"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/losses"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func TestMLMWarmupLearns(t *testing.T) {
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
		Quiet: true, Optimizer: &Optimizer{LearningRate: 5e-3, WarmupSteps: 5, ClipNorm: 1}})
	if err != nil {
		t.Fatal(err)
	}
	first, last := res.History[0].Loss, res.FinalLoss
	if !(last < 0.7*first) {
		t.Fatalf("MLM loss did not decrease: %.3f → %.3f", first, last)
	}
}

// TestMaskedLMLossHandComputed checks the multi-task MLM loss on logits worked out by hand: two
// sequences of two positions over a vocabulary of 3, three positions masked.
//
//	(0,0) logits [0 0 0], label 1:  −ln(1/3)             = ln 3            = 1.098612, argmax 0: wrong
//	(0,1) logits [2 0 0], label 0:  −ln(e²/(e²+2))       = ln(1+2e⁻²)      = 0.239545, right
//	(1,0) not masked (weight 0)
//	(1,1) logits [0 3 1], label 2:  −ln(e/(1+e³+e))      = ln(1+e³+e) − 1  = 2.169846, wrong
//
// loss = 3.508003 / 3 = 1.169334, accuracy 1/3.
func TestMaskedLMLossHandComputed(t *testing.T) {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	logits := tensors.FromValue([][][]float32{{{0, 0, 0}, {2, 0, 0}}, {{5, 0, 0}, {0, 3, 1}}})
	labels := tensors.FromValue([][]int32{{1, 0}, {0, 2}})
	weights := tensors.FromValue([][]float32{{1, 1}, {0, 1}})
	for i, want := range []float64{(math.Log(3) + math.Log1p(2*math.Exp(-2)) + math.Log(1+math.Exp(3)+math.E) - 1) / 3, 1.0 / 3} {
		got, err := graph.ExecOnce(be, func(l, y, w *graph.Node) *graph.Node {
			loss, acc := losses.MaskedLM(l, y, w)
			return []*graph.Node{loss, acc}[i]
		}, logits, labels, weights)
		if err != nil {
			t.Fatal(err)
		}
		if v := float64(got.Value().(float32)); math.Abs(v-want) > 1e-5 {
			t.Errorf("output %d (loss, accuracy) = %.6f, want %.6f", i, v, want)
		}
	}
}
