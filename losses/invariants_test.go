package losses_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/mimicry-ir/mimicry/losses"
)

// randomMatrix returns a rows×cols matrix with entries uniform in [lo, hi).
func randomMatrix(rng *rand.Rand, rows, cols int, lo, hi float64) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = lo + (hi-lo)*rng.Float64()
		}
	}
	return m
}

// shiftRows returns x with row i shifted by shifts[i].
func shiftRows(x [][]float64, shifts []float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, row := range x {
		out[i] = make([]float64, len(row))
		for j, v := range row {
			out[i][j] = v + shifts[i]
		}
	}
	return out
}

func column(x [][]float64, j int) []float64 {
	c := make([]float64, len(x))
	for i := range x {
		c[i] = x[i][j]
	}
	return c
}

// TestMarginMSEZeroForEqualMargins: a student whose scores are the teacher's plus any per-query shift has
// the teacher's margins, so every margin loss is zero; perturbing one score makes it positive.
func TestMarginMSEZeroForEqualMargins(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	teacher := randomMatrix(rng, 3, 5, -4, 8)
	student := shiftRows(teacher, []float64{-37.5, 0.25, 112})

	multi := func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }
	allPairs := func(xs []*Node) *Node { return losses.MarginMSEAllPairs(xs[0], xs[1]) }
	pairwise := func(xs []*Node) *Node { return losses.MarginMSE(xs[0], xs[1], xs[2], xs[3]) }
	for name, got := range map[string]float64{
		"MarginMSEMulti":    eval(t, multi, student, teacher),
		"MarginMSEAllPairs": eval(t, allPairs, student, teacher),
		"MarginMSE": eval(t, pairwise, column(student, 0), column(student, 3),
			column(teacher, 0), column(teacher, 3)),
	} {
		// Exact arithmetic gives 0; allow only the round-off of the shifted scores.
		if math.Abs(got) > 1e-20 {
			t.Errorf("%s = %g for shifted-but-equal margins, want 0", name, got)
		}
	}
	student[1][2] += 0.5
	if got := eval(t, multi, student, teacher); got < 1e-3 {
		t.Errorf("MarginMSEMulti = %g after perturbing a negative's score, want > 0", got)
	}
	if got := eval(t, allPairs, student, teacher); got < 1e-3 {
		t.Errorf("MarginMSEAllPairs = %g after perturbing a negative's score, want > 0", got)
	}
}

// TestMarginMSEMultiMatchesSentenceTransformers recomputes sentence-transformers' MarginMSELoss for multiple
// negatives step by step (labels = t[:, 0:1] − t[:, 1:], margins = stack(s_0 − s_i), nn.MSELoss() mean over
// all B·n entries) and checks MarginMSEMulti agrees; and that with one negative it is MarginMSE.
func TestMarginMSEMultiMatchesSentenceTransformers(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	student := randomMatrix(rng, 4, 6, -3, 3)
	teacher := randomMatrix(rng, 4, 6, -8, 12)
	var sum float64
	var count int
	for b := range student {
		for i := 1; i < len(student[b]); i++ {
			margin := student[b][0] - student[b][i]
			label := teacher[b][0] - teacher[b][i]
			sum += (margin - label) * (margin - label)
			count++
		}
	}
	want := sum / float64(count)
	got := eval(t, func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }, student, teacher)
	if !near(got, want, 1e-12, 1e-12) {
		t.Errorf("MarginMSEMulti = %.15g, sentence-transformers' definition gives %.15g", got, want)
	}

	// One negative: MarginMSEMulti on [B, 2] equals MarginMSE on the columns.
	s2, t2 := randomMatrix(rng, 5, 2, -3, 3), randomMatrix(rng, 5, 2, -3, 3)
	multi := eval(t, func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }, s2, t2)
	pair := eval(t, func(xs []*Node) *Node { return losses.MarginMSE(xs[0], xs[1], xs[2], xs[3]) },
		column(s2, 0), column(s2, 1), column(t2, 0), column(t2, 1))
	if !near(multi, pair, 1e-12, 1e-12) {
		t.Errorf("MarginMSEMulti with n = 1 is %.15g, MarginMSE %.15g", multi, pair)
	}
}

// TestMarginMSEAllPairsBruteForce checks the O(m) variance form against the explicit sum over all pairs.
func TestMarginMSEAllPairsBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	student := randomMatrix(rng, 3, 5, -3, 3)
	teacher := randomMatrix(rng, 3, 5, -8, 12)
	var total float64
	for b := range student {
		var sum float64
		var pairs int
		for i := range student[b] {
			for j := i + 1; j < len(student[b]); j++ {
				e := (student[b][i] - student[b][j]) - (teacher[b][i] - teacher[b][j])
				sum += e * e
				pairs++
			}
		}
		total += sum / float64(pairs)
	}
	want := total / float64(len(student))
	got := eval(t, func(xs []*Node) *Node { return losses.MarginMSEAllPairs(xs[0], xs[1]) }, student, teacher)
	if !near(got, want, 1e-12, 1e-12) {
		t.Errorf("MarginMSEAllPairs = %.15g, brute force %.15g", got, want)
	}
}

// TestKLDivergence: zero when the distributions are equal (same scores, or scores shifted per query), at any
// temperature; positive otherwise; and equal to a direct Go computation on random scores.
func TestKLDivergence(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	teacher := randomMatrix(rng, 3, 4, -5, 5)
	kl := func(tau float64) lossFn {
		return func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], tau) }
	}
	for _, tau := range []float64{0.5, 1, 3} {
		if got := eval(t, kl(tau), teacher, teacher); math.Abs(got) > 1e-14 {
			t.Errorf("KL(τ=%g) of identical scores = %g, want 0", tau, got)
		}
		shifted := shiftRows(teacher, []float64{4, -2, 100})
		if got := eval(t, kl(tau), shifted, teacher); math.Abs(got) > 1e-12 {
			t.Errorf("KL(τ=%g) of per-query shifted scores = %g, want 0", tau, got)
		}
	}

	student := randomMatrix(rng, 3, 4, -5, 5)
	const tau = 1.7
	softmax := func(row []float64) []float64 {
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v/tau)
		}
		var z float64
		p := make([]float64, len(row))
		for j, v := range row {
			p[j] = math.Exp(v/tau - mx)
			z += p[j]
		}
		for j := range p {
			p[j] /= z
		}
		return p
	}
	var want float64
	for b := range student {
		pt, ps := softmax(teacher[b]), softmax(student[b])
		for j := range pt {
			want += pt[j] * math.Log(pt[j]/ps[j])
		}
	}
	want /= float64(len(student))
	got := eval(t, kl(tau), student, teacher)
	if want <= 0 || !near(got, want, 1e-12, 1e-10) {
		t.Errorf("KL = %.15g, direct computation %.15g (want > 0)", got, want)
	}

	// PyLate's Distillation: KL of min-max normalised student scores, no temperature.
	pylate := eval(t, func(xs []*Node) *Node {
		return losses.KLDivergence(losses.MinMaxNormalize(xs[0]), xs[1], 1)
	}, [][]float64{{2, 4, 3}}, [][]float64{{0, 1, 0.5}})
	// Normalised student (0, 1, 0.5) ≈ teacher (0, 1, 0.5): KL ≈ 0 (up to ε = 1e-8 in the range).
	if math.Abs(pylate) > 1e-8 {
		t.Errorf("KL(MinMaxNormalize(2,4,3) ‖ (0,1,0.5)) = %g, want ≈ 0", pylate)
	}
}

// TestFLOPSOneHot: B one-hot rows on distinct terms have column means 1/B on B terms: FLOPS = B·(1/B)² = 1/B;
// the same B rows all on one term have FLOPS = 1. L1 is 1 in both cases.
func TestFLOPSOneHot(t *testing.T) {
	const B, V = 4, 6
	distinct := make([][]float64, B)
	same := make([][]float64, B)
	for i := range B {
		distinct[i] = make([]float64, V)
		distinct[i][i+1] = 1
		same[i] = make([]float64, V)
		same[i][2] = 1
	}
	flops := func(xs []*Node) *Node { return losses.FLOPS(xs[0]) }
	l1 := func(xs []*Node) *Node { return losses.L1(xs[0]) }
	if got := eval(t, flops, distinct); !near(got, 1.0/B, 1e-15, 0) {
		t.Errorf("FLOPS(one-hot on distinct terms) = %g, want %g", got, 1.0/B)
	}
	if got := eval(t, flops, same); !near(got, 1, 1e-15, 0) {
		t.Errorf("FLOPS(one-hot on the same term) = %g, want 1", got)
	}
	for _, w := range [][][]float64{distinct, same} {
		if got := eval(t, l1, w); !near(got, 1, 1e-15, 0) {
			t.Errorf("L1(one-hot batch) = %g, want 1", got)
		}
	}
}

// TestLocalizedContrastiveMaskedNegative: a negative scored −∞ drops out of the softmax.
func TestLocalizedContrastiveMaskedNegative(t *testing.T) {
	lce := func(xs []*Node) *Node { return losses.LocalizedContrastive(xs[0]) }
	masked := eval(t, lce, [][]float64{{1, math.Inf(-1), 0.5}, {0, 2, math.Inf(-1)}})
	dropped := eval(t, lce, [][]float64{{1, 0.5}, {0, 2}})
	if !near(masked, dropped, 1e-14, 1e-14) {
		t.Errorf("LCE with −∞ negatives = %g, without those columns %g", masked, dropped)
	}
	// The gradient stays finite, and is 0 for the masked negatives.
	grad := evalTensor(t, func(xs []*Node) *Node {
		return Gradient(losses.LocalizedContrastive(xs[0]), xs[0])[0]
	}, [][]float64{{1, math.Inf(-1), 0.5}, {0, 2, math.Inf(-1)}})
	for i, g := range grad {
		if math.IsNaN(g) || math.IsInf(g, 0) || ((i == 1 || i == 5) && g != 0) {
			t.Errorf("gradient[%d] = %g with −∞ negatives (want finite, and 0 at the masked entries)", i, g)
		}
	}
	if got := eval(t, lce, [][]float64{{3}, {-1}}); got != 0 {
		t.Errorf("LCE with no negatives = %g, want 0", got)
	}
}

// TestBinaryCrossEntropyStable: huge logits in float32 neither overflow nor lose the exact answer.
func TestBinaryCrossEntropyStable(t *testing.T) {
	bce := func(xs []*Node) *Node { return losses.BinaryCrossEntropy(xs[0], xs[1]) }
	// ℓ(1e4, 1) = 0, ℓ(1e4, 0) = 1e4, ℓ(−1e4, 0) = 0, ℓ(−1e4, 1) = 1e4 → mean 5000
	got, _, err := evalErr(t, bce, dtypes.Float32, []float64{1e4, 1e4, -1e4, -1e4}, []float64{1, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, 5000, 0, 1e-6) {
		t.Errorf("BCE of ±1e4 logits = %g, want 5000", got)
	}
}

// TestInfoNCETemperature: dividing by τ is the same as scaling the queries by 1/τ.
func TestInfoNCETemperature(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	q, d := randomMatrix(rng, 3, 4, -1, 1), randomMatrix(rng, 5, 4, -1, 1)
	const tau = 0.05
	scaled := make([][]float64, len(q))
	for i := range q {
		scaled[i] = make([]float64, len(q[i]))
		for j := range q[i] {
			scaled[i][j] = q[i][j] / tau
		}
	}
	a := eval(t, func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], tau) }, q, d)
	b := eval(t, func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 1) }, scaled, d)
	if !near(a, b, 1e-12, 1e-10) {
		t.Errorf("InfoNCE(q, d, %g) = %.15g, InfoNCE(q/%g, d, 1) = %.15g", tau, a, tau, b)
	}
}

// TestKLPlusMarginMSEIsWeightedSum checks the mix against its two parts on random scores.
func TestKLPlusMarginMSEIsWeightedSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s, tt := randomMatrix(rng, 3, 5, -3, 3), randomMatrix(rng, 3, 5, -3, 3)
	mix := eval(t, func(xs []*Node) *Node { return losses.KLPlusMarginMSE(xs[0], xs[1], 2, 0.3, 0.05) }, s, tt)
	kl := eval(t, func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], 2) }, s, tt)
	mm := eval(t, func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }, s, tt)
	if want := 0.3*kl + 0.05*mm; !near(mix, want, 1e-13, 1e-12) {
		t.Errorf("KLPlusMarginMSE = %.15g, 0.3·KL + 0.05·MarginMSEMulti = %.15g", mix, want)
	}
}

// TestMisuseErrors: wrong shapes, dtypes and parameters are reported as errors naming the loss.
func TestMisuseErrors(t *testing.T) {
	v3 := []float64{1, 2, 3}
	v2 := []float64{1, 2}
	m23 := [][]float64{{1, 2, 3}, {4, 5, 6}}
	m21 := [][]float64{{1}, {2}}
	for _, c := range []struct {
		name, want string
		fn         lossFn
		inputs     []any
	}{
		{"shape mismatch", "losses.MarginMSE:",
			func(xs []*Node) *Node { return losses.MarginMSE(xs[0], xs[1], xs[2], xs[3]) },
			[]any{v3, v3, v3, v2}},
		{"rank 1 scores", "losses.MarginMSEMulti:",
			func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }, []any{v3, v3}},
		{"no negatives", "losses.MarginMSEMulti:",
			func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) }, []any{m21, m21}},
		{"no pairs", "losses.MarginMSEAllPairs:",
			func(xs []*Node) *Node { return losses.MarginMSEAllPairs(xs[0], xs[1]) }, []any{m21, m21}},
		{"zero temperature", "losses.KLDivergence:",
			func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], 0) }, []any{m23, m23}},
		{"negative temperature", "losses.InfoNCE:",
			func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], -1) }, []any{m23, m23}},
		{"fewer docs than queries", "losses.InfoNCE:",
			func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 1) }, []any{m23, [][]float64{{1, 2, 3}}}},
		{"embedding size", "losses.InfoNCE:",
			func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 1) }, []any{m23, m21}},
		{"rank 1 weights", "losses.FLOPS:",
			func(xs []*Node) *Node { return losses.FLOPS(xs[0]) }, []any{v3}},
		{"integer dtype", "losses.MSE:",
			func(xs []*Node) *Node { return losses.MSE(ConvertDType(xs[0], dtypes.Int32), xs[1]) }, []any{v3, v3}},
		{"mixed dtypes", "losses.BinaryCrossEntropy:",
			func(xs []*Node) *Node {
				return losses.BinaryCrossEntropy(xs[0], ConvertDType(xs[1], dtypes.Float32))
			}, []any{v3, v3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := evalErr(t, c.fn, dtypes.Float64, c.inputs...)
			t.Logf("%v", err)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}
