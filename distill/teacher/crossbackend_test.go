package teacher

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// TestCrossBackendTeacherTraining: five steps of the teacher's training (listwise LCE on BM25 hard
// negatives) end with the same loss and weights on SimpleGo and XLA-CPU.
func TestCrossBackendTeacherTraining(t *testing.T) {
	s, f := fixture.Synthetic(t), fixture.ColBERTKey(t)
	set, err := TrainingSet(s.C, 20, 3, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fixture.TinyConfig(f.Tk.VocabSize())
	cfg.NumLabels = 1
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 1e-3
	fixture.CrossBackendTraining(t, m, lr/10, func(be backends.Backend, m *models.Model) (*train.Result, error) {
		return Train(set, Options{Model: m, Tokenizer: f.Tk, Backend: be, Steps: fixture.CrossBackendSteps, QueriesPerBatch: 2,
			Negatives: 3, MaxLen: 48, Quiet: true, Optimizer: &train.Optimizer{LearningRate: lr, WarmupSteps: 1, ClipNorm: 1}})
	})
}
