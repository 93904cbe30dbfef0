package splade

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/mimicry-ir/mimicry/models/backend"
)

// TestSpladeMarginMSELoss: with Loss = LossMarginMSE the distillation part is the mean squared error
// of each query's margins (first passage minus each other one), computed here by hand; a constant
// added to one query's student scores costs nothing, which the score-MSE (one constant per batch)
// does charge.
func TestSpladeMarginMSELoss(t *testing.T) {
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	student := []float64{2, 1, 0.5, 3, 3.5, 1} // 2 queries × 3 passages
	teacher := []float64{1, -1, 0, 4, 2, 2}
	// Margins: query 1 student (1, 1.5) teacher (2, 1); query 2 student (-0.5, 2) teacher (2, 2).
	// Errors: -1, 0.5, -2.5, 0 → (1 + 0.25 + 6.25 + 0)/4 = 1.875.
	const want = 1.875
	distill := func(spec spladeLossSpec, s []float64) float64 {
		return evalScalar(t, be, func(g *Graph) *Node {
			qv := Const(g, [][]float64{{1, 0}, {0, 1}})
			dv := Const(g, [][]float64{{1, 0}, {0, 1}, {1, 1}, {0, 0}, {1, 0}, {0, 1}})
			_, parts := spec.loss(Const(g, int64(0)), qv, dv, Const(g, s), Const(g, teacher))
			return parts[0]
		})
	}
	margin := spladeLossSpec{reg: RegFLOPS, marginMSE: true, perQuery: 3}
	if got := distill(margin, student); math.Abs(got-want) > 1e-9 {
		t.Fatalf("Margin-MSE distillation part = %g, want %g", got, want)
	}
	shifted := append([]float64(nil), student...)
	for i := 3; i < 6; i++ {
		shifted[i] += 10 // query 2 only
	}
	if got := distill(margin, shifted); math.Abs(got-want) > 1e-9 {
		t.Fatalf("a per-query constant changed Margin-MSE: %g, want %g", got, want)
	}
	mse := spladeLossSpec{reg: RegFLOPS}
	if a, b := distill(mse, student), distill(mse, shifted); !(b > a+1) {
		t.Fatalf("score-MSE should charge a per-query constant: %g → %g", a, b)
	}
}

// TestTrainSPLADEMarginMSE: Train runs with LossMarginMSE and refuses an unknown loss or a single
// passage per query.
func TestTrainSPLADEMarginMSE(t *testing.T) {
	f := newSpladeFixture(t)
	opts := f.options(f.newModel(t, 1), 4)
	opts.Loss, opts.LogEvery = LossMarginMSE, 2
	res, err := Train(f.key, f.queries, f.texts, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.History {
		if d := r.Parts[PartDistill]; !(d >= 0) || math.IsInf(d, 0) {
			t.Fatalf("step %d: distillation part %g", r.Step, d)
		}
	}
	bad := f.options(f.newModel(t, 1), 2)
	bad.Loss = "hinge"
	if _, err := Train(f.key, f.queries, f.texts, bad); err == nil || !strings.Contains(err.Error(), `unknown loss "hinge"`) {
		t.Fatalf("unknown loss: %v", err)
	}
	bad.Loss, bad.PassagesPerQuery = LossMarginMSE, 1
	if _, err := Train(f.key, f.queries, f.texts, bad); err == nil || !strings.Contains(err.Error(), "at least 2 passages") {
		t.Fatalf("one passage per query: %v", err)
	}
}
