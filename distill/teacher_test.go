package distill

import (
	"slices"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets/negatives"
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
