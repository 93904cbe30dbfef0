package splade

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// TestCrossBackendSpladeTraining: five steps of SPLADE's score MSE + FLOPS end with the same loss
// and weights on SimpleGo and XLA-CPU, from the bag-of-words start.
func TestCrossBackendSpladeTraining(t *testing.T) {
	f := fixture.ColBERTKey(t)
	m, err := models.New(models.KindSPLADE, fixture.TinyConfig(f.Tk.VocabSize()), 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 1e-3
	fixture.CrossBackendTraining(t, m, lr/10, func(be backends.Backend, m *models.Model) (*train.Result, error) {
		return Train(f.Key, f.Queries, f.Texts, Options{Model: m, Tokenizer: f.Tk, Backend: be, Steps: fixture.CrossBackendSteps,
			QueriesPerBatch: 4, PassagesPerQuery: 3, QueryMaxLen: 16, DocMaxLen: 32, LambdaQ: 1e-3, LambdaD: 1e-3,
			Guard: Guard{Off: true}, Quiet: true, Optimizer: &train.Optimizer{LearningRate: lr, WarmupSteps: 1, ClipNorm: 1}})
	})
}
