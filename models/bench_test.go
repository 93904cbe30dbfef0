package models

import (
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train/optimizers"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// BenchmarkCrossEncoderTrainStep times one AdamW training step of the tiny cross-encoder (H=128,
// 2 layers, bert-base-uncased's 30,522-token vocabulary, batch 16 × 128 tokens, binary
// cross-entropy) on the same graph with GoMLX v0.26's stock DotGeneral gradient and with the one
// package backend registers. Run both in one go and compare:
//
//	go test -run '^$' -bench CrossEncoderTrainStep -benchtime 5x ./models/
func BenchmarkCrossEncoderTrainStep(b *testing.B) {
	b.Run("stock-dot-gradient", func(b *testing.B) { benchTrainStep(b, true) })
	b.Run("mimicry-dot-gradient", func(b *testing.B) { benchTrainStep(b, false) })
}

func benchTrainStep(b *testing.B, stockGradient bool) {
	const batch, seqLen, vocab = 16, 128, 30522
	be := testBackend(b) // creating the backend registers Mimicry's gradient: choose after it
	if stockGradient {
		backend.UseStockDotGeneralGradient()
		defer backend.RegisterDotGeneralGradient()
	} else {
		backend.RegisterDotGeneralGradient()
	}
	cfg, err := NewConfig(PresetTiny, vocab)
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(KindCrossEncoder, cfg, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	opt := optimizers.Adam().LearningRate(1e-4).WeightDecay(0.01).Done()
	exec, err := context.NewExec(be, m.Ctx, func(ctx *context.Context, ids, types, mask, labels *Node) *Node {
		g := ids.Graph()
		ctx.SetTraining(g, true)
		logits := CrossEncoderLogits(ctx.In(ModelScope), cfg, ids, types, mask)
		// Binary cross-entropy with logits: max(x,0) - x·y + log(1+exp(-|x|)).
		loss := ReduceAllMean(Add(Sub(Max(logits, ZerosLike(logits)), Mul(logits, labels)), Log1p(Exp(Neg(Abs(logits))))))
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([][]int32, batch)
	types := make([][]int32, batch)
	mask := make([][]bool, batch)
	labels := make([]float32, batch)
	for i := range batch {
		ids[i], types[i], mask[i] = make([]int32, seqLen), make([]int32, seqLen), make([]bool, seqLen)
		for j := range seqLen {
			ids[i][j] = int32(rng.IntN(vocab))
			types[i][j] = int32(j * 2 / seqLen)
			mask[i][j] = j < seqLen-rng.IntN(16)
		}
		labels[i] = float32(i % 2)
	}
	if _, err := exec.Exec(ids, types, mask, labels); err != nil { // compile and warm up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := exec.Exec(ids, types, mask, labels); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch*seqLen)/b.Elapsed().Seconds(), "tokens/s")
}
