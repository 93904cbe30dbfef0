package colbert

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// TestCrossBackendColBERTTraining: five steps of Margin-MSE distillation into ColBERT end with the
// same loss and weights on SimpleGo and XLA-CPU.
func TestCrossBackendColBERTTraining(t *testing.T) {
	f := fixture.ColBERTKey(t)
	m, err := models.New(models.KindColBERT, fixture.TinyConfig(f.Tk.VocabSize()), 16, 3)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 1e-3
	fixture.CrossBackendTraining(t, m, lr/10, func(be backends.Backend, m *models.Model) (*train.Result, error) {
		return Train(f.Key, f.Positives, f.Queries, f.Texts, Options{Model: m, Tokenizer: f.Tk, Backend: be,
			Steps: fixture.CrossBackendSteps, QueriesPerBatch: 4, QueryLen: 16, DocLen: 32, EvalEvery: -1, Quiet: true,
			Optimizer: &train.Optimizer{LearningRate: lr, WarmupSteps: 1, ClipNorm: 1}})
	})
}
