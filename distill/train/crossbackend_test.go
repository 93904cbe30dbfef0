package train_test

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

// TestCrossBackendMLMWarmup: five steps of masked-language modelling end with the same loss and
// weights on SimpleGo and XLA-CPU.
func TestCrossBackendMLMWarmup(t *testing.T) {
	f := fixture.ColBERTKey(t)
	m, err := models.New(models.KindSPLADE, fixture.TinyConfig(f.Tk.VocabSize()), 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	var pairs [][2]string
	for _, p := range f.Key[:64] {
		pairs = append(pairs, [2]string{f.Queries[p.QueryID], f.Texts[p.DocID]})
	}
	const lr = 1e-3
	fixture.CrossBackendTraining(t, m, lr/10, func(be backends.Backend, m *models.Model) (*train.Result, error) {
		return train.MLMWarmup(pairs, train.MLMOptions{Model: m, Tokenizer: f.Tk, Backend: be, Steps: fixture.CrossBackendSteps,
			BatchSize: 4, MaxLen: 32, Seed: 1, Quiet: true, Optimizer: &train.Optimizer{LearningRate: lr, WarmupSteps: 1, ClipNorm: 1}})
	})
}
