package teacher

import (
	"maps"
	"math"
	"slices"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
)

func TestGroupSamplerIsAPureFunctionOfTheStep(t *testing.T) {
	set := &negatives.TrainingSet{Texts: map[string]string{}}
	for i := range 10 {
		g := negatives.TrainGroup{QID: string(rune('a' + i)), Query: "q" + string(rune('a'+i)), Positives: []string{"p" + string(rune('a'+i))}}
		for j := range 5 {
			g.Negatives = append(g.Negatives, "n"+string(rune('a'+i))+string(rune('0'+j)))
		}
		set.Train = append(set.Train, g)
	}
	s := newGroupSampler(set, 3, 4, 3)
	q1, p1 := s.pairs(7)
	q2, p2 := s.pairs(7)
	if !slices.Equal(q1, q2) || !slices.Equal(p1, p2) {
		t.Fatal("same step, different batch")
	}
	if len(q1) != 4*4 {
		t.Fatalf("batch has %d pairs, want 16", len(q1))
	}
	// Every group appears once per epoch.
	seen := map[int]int{}
	for pos := range 10 {
		seen[s.group(pos)]++
	}
	if len(seen) != 10 {
		t.Fatalf("an epoch covers %d of 10 groups", len(seen))
	}
	q3, _ := newGroupSampler(set, 4, 4, 3).pairs(7)
	if slices.Equal(q1, q3) {
		t.Fatal("different seeds, same batch")
	}
}

// TestTrainTeacherLearnsLexicalMatching trains a small cross-encoder on groups whose positive
// repeats the query's rare words and whose negatives are other queries' positives: a model that
// learns anything about (query, passage) interaction separates them within a few dozen steps.
func TestTrainTeacherLearnsLexicalMatching(t *testing.T) {
	f := fixture.ColBERTKey(t)
	set := &negatives.TrainingSet{Texts: map[string]string{}}
	qids := slices.Sorted(maps.Keys(f.Positives))[:40]
	for _, qid := range qids {
		for pid := range f.Positives[qid] {
			set.Texts[pid] = f.Texts[pid]
			set.Train = append(set.Train, negatives.TrainGroup{QID: qid, Query: f.Queries[qid], Positives: []string{pid}})
			break
		}
	}
	for i := range set.Train {
		for j := 1; j <= 3; j++ {
			set.Train[i].Negatives = append(set.Train[i].Negatives, set.Train[(i+7*j)%len(set.Train)].Positives[0])
		}
	}
	// The presets' from-scratch initialisation (1/√H); with BERT's 0.02 this model sits at ln 4 for
	// all 60 steps.
	cfg := fixture.TinyConfig(f.Tk.VocabSize())
	cfg.InitializerRange = 1 / math.Sqrt(float64(cfg.HiddenSize))
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Train(set, Options{Model: m, Tokenizer: f.Tk, Backend: fixture.Backend(t), Steps: 60, MaxLen: 64,
		Negatives: 3, QueriesPerBatch: 8, Quiet: true, Seed: 1,
		Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 6, WeightDecay: 0.01, ClipNorm: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.History {
		t.Logf("step %d loss %.4f margin %.3f grad %.3g lr %.3g", r.Step, r.Loss, r.Parts["pos_margin"], r.GradNorm, r.LearningRate)
	}
	first, last := res.History[0], res.History[len(res.History)-1]
	if !(last.Loss < 0.5*first.Loss) || last.Parts["pos_margin"] <= 0 {
		t.Errorf("loss %.3f → %.3f, positive margin %.3f: the teacher does not learn to match query and passage", first.Loss, last.Loss, last.Parts["pos_margin"])
	}
}
