package losses_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/mimicry-ir/mimicry/losses"
)

// handCase is a loss evaluated on tiny inputs whose value was worked out by hand (see each case's comment).
type handCase struct {
	name   string
	fn     lossFn
	inputs []any
	want   float64
}

// ln is math.Log, short for the comments' arithmetic.
var ln = math.Log

func handCases() []handCase {
	return []handCase{
		{
			// ℓ(x, y) = max(x,0) − x·y + log(1+e^−|x|):
			//   ℓ(0, 1)   = 0 − 0 + ln 2              = 0.693147
			//   ℓ(2, 0)   = 2 − 0 + ln(1+e^−2)        = 2.126928
			//   ℓ(−2, 1)  = 0 + 2 + ln(1+e^−2)        = 2.126928
			//   ℓ(1, 0.5) = 1 − 0.5 + ln(1+e^−1)      = 0.813262
			//   ℓ(−1, 1)  = 0 + 1 + ln(1+e^−1)        = 1.313262
			//   ℓ(3, 0)   = 3 − 0 + ln(1+e^−3)        = 3.048587
			// mean = 10.122114 / 6 = 1.687019
			name: "BinaryCrossEntropy",
			fn:   func(xs []*Node) *Node { return losses.BinaryCrossEntropy(xs[0], xs[1]) },
			inputs: []any{
				[][]float64{{0, 2, -2}, {1, -1, 3}},
				[][]float64{{1, 0, 1}, {0.5, 1, 0}},
			},
			want: 1.6870189882093463,
		},
		{
			// row 0: −ln(e²/(e²+1+1)) = ln(1+2e^−2) = 0.239545
			// row 1: −ln(e/(3e))      = ln 3        = 1.098612
			// mean = 0.669079
			name:   "LocalizedContrastive",
			fn:     func(xs []*Node) *Node { return losses.LocalizedContrastive(xs[0]) },
			inputs: []any{[][]float64{{2, 0, 0}, {1, 1, 1}}},
			want:   (ln(1+2*math.Exp(-2)) + ln(3)) / 2,
		},
		{
			// student margins 3−1=2, 2−1=1, 0−0.5=−0.5; teacher margins 10−9=1, 5−3=2, 1−2=−1;
			// errors 1, −1, 0.5; squares 1, 1, 0.25; mean = 2.25/3 = 0.75
			name: "MarginMSE",
			fn:   func(xs []*Node) *Node { return losses.MarginMSE(xs[0], xs[1], xs[2], xs[3]) },
			inputs: []any{
				[]float64{3, 2, 0}, []float64{1, 1, 0.5},
				[]float64{10, 5, 1}, []float64{9, 3, 2},
			},
			want: 0.75,
		},
		{
			// row 0: student margins 3−1=2, 3−2=1; teacher 5−5=0, 5−3=2; errors 2, −1 → 4, 1
			// row 1: student margins 0−1=−1, 0+1=1; teacher 2−0=2, 2−1=1; errors −3, 0 → 9, 0
			// mean over B·n = 2·2 margins: 14/4 = 3.5
			name: "MarginMSEMulti",
			fn:   func(xs []*Node) *Node { return losses.MarginMSEMulti(xs[0], xs[1]) },
			inputs: []any{
				[][]float64{{3, 1, 2}, {0, 1, -1}},
				[][]float64{{5, 5, 3}, {2, 0, 1}},
			},
			want: 3.5,
		},
		{
			// d = s − t: row 0 = (−2, −4, −1), row 1 = (−2, 1, −2).
			// row 0 pairs (0,1),(0,2),(1,2): d_i − d_j = 2, −1, −3 → 4+1+9 = 14 → 14/3
			// row 1: −3, 0, 3 → 9+0+9 = 18 → 18/3
			// mean = (14/3 + 18/3)/2 = 16/3 = 5.333333
			name: "MarginMSEAllPairs",
			fn:   func(xs []*Node) *Node { return losses.MarginMSEAllPairs(xs[0], xs[1]) },
			inputs: []any{
				[][]float64{{3, 1, 2}, {0, 1, -1}},
				[][]float64{{5, 5, 3}, {2, 0, 1}},
			},
			want: 16.0 / 3,
		},
		{
			// s − t = (0, 2, −1, −1, 1, 0); squares 0+4+1+1+1+0 = 7; mean = 7/6
			name: "MSE",
			fn:   func(xs []*Node) *Node { return losses.MSE(xs[0], xs[1]) },
			inputs: []any{
				[][]float64{{1, 2, 3}, {0, 0, 0}},
				[][]float64{{1, 0, 4}, {1, -1, 0}},
			},
			want: 7.0 / 6,
		},
		{
			// column means of |w|: (1+3)/2 = 2, 0, (2+0)/2 = 1; FLOPS = 2² + 0² + 1² = 5
			name:   "FLOPS",
			fn:     func(xs []*Node) *Node { return losses.FLOPS(xs[0]) },
			inputs: []any{[][]float64{{1, 0, -2}, {3, 0, 0}}},
			want:   5,
		},
		{
			// row L1 norms 1+0+2 = 3 and 3+0+0 = 3; mean = 3
			name:   "L1",
			fn:     func(xs []*Node) *Node { return losses.L1(xs[0]) },
			inputs: []any{[][]float64{{1, 0, -2}, {3, 0, 0}}},
			want:   3,
		},
		{
			// row 0: p_t = softmax(ln 2, 0, 0) = (1/2, 1/4, 1/4), p_s = (1/3, 1/3, 1/3):
			//   KL = 1/2·ln(3/2) + 2·1/4·ln(3/4) = 0.202733 − 0.143841 = 0.058892
			// row 1: p_t = (1/3, 1/3, 1/3), p_s = (1/2, 1/4, 1/4):
			//   KL = 1/3·(ln(2/3) + 2·ln(4/3)) = 1/3·(−0.405465 + 0.575364) = 0.056633
			// mean = 0.057762
			name: "KLDivergence",
			fn:   func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], 1) },
			inputs: []any{
				[][]float64{{0, 0, 0}, {ln(2), 0, 0}},
				[][]float64{{ln(2), 0, 0}, {0, 0, 0}},
			},
			want: (0.5*ln(1.5) + 0.5*ln(0.75) + (ln(2.0/3)+2*ln(4.0/3))/3) / 2,
		},
		{
			// The same distributions as above with every score doubled and τ = 2: the same 0.057762.
			name: "KLDivergence/temperature",
			fn:   func(xs []*Node) *Node { return losses.KLDivergence(xs[0], xs[1], 2) },
			inputs: []any{
				[][]float64{{0, 0, 0}, {2 * ln(2), 0, 0}},
				[][]float64{{2 * ln(2), 0, 0}, {0, 0, 0}},
			},
			want: (0.5*ln(1.5) + 0.5*ln(0.75) + (ln(2.0/3)+2*ln(4.0/3))/3) / 2,
		},
		{
			// KL term as in "KLDivergence" = 0.057762.
			// MarginMSEMulti: row 0 student margins 0, 0; teacher ln 2, ln 2 → 2·(ln 2)²;
			//                 row 1 student margins ln 2, ln 2; teacher 0, 0  → 2·(ln 2)²;
			//                 mean over 4 margins = (ln 2)² = 0.480453
			// 0.5·0.057762 + 2·0.480453 = 0.989787
			name: "KLPlusMarginMSE",
			fn:   func(xs []*Node) *Node { return losses.KLPlusMarginMSE(xs[0], xs[1], 1, 0.5, 2) },
			inputs: []any{
				[][]float64{{0, 0, 0}, {ln(2), 0, 0}},
				[][]float64{{ln(2), 0, 0}, {0, 0, 0}},
			},
			want: 0.5*(0.5*ln(1.5)+0.5*ln(0.75)+(ln(2.0/3)+2*ln(4.0/3))/3)/2 + 2*ln(2)*ln(2),
		},
		{
			// margins 3−1 = 2 and 0.5−1 = −0.5; errors to m = 1: 1 and −1.5 → 1 + 2.25; mean = 1.625
			name:   "FixedMarginMSE",
			fn:     func(xs []*Node) *Node { return losses.FixedMarginMSE(xs[0], xs[1], losses.DefaultFixedMargin) },
			inputs: []any{[]float64{3, 0.5}, []float64{1, 1}},
			want:   1.625,
		},
		{
			// margins 2, −0.5, 0.8; max(0, 1 − margin) = 0, 1.5, 0.2; mean = 1.7/3
			name:   "PairwiseHinge",
			fn:     func(xs []*Node) *Node { return losses.PairwiseHinge(xs[0], xs[1], 1) },
			inputs: []any{[]float64{3, 0.5, 1}, []float64{1, 1, 0.2}},
			want:   1.7 / 3,
		},
		{
			// S = q·dᵀ = [[1, 1], [0, 1]]
			// row 0: −ln(e/(e+e)) = ln 2 = 0.693147; row 1: −ln(e/(1+e)) = ln(1+e^−1) = 0.313262
			// mean = 0.503204
			name: "InfoNCE",
			fn:   func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 1) },
			inputs: []any{
				[][]float64{{1, 0}, {0, 1}},
				[][]float64{{1, 0}, {1, 1}},
			},
			want: (ln(2) + math.Log1p(math.Exp(-1))) / 2,
		},
		{
			// With an extra negative document (0, 2): S = [[1, 1, 0], [0, 1, 2]]
			// row 0: ln(e + e + 1) − 1 = 0.861995; row 1: ln(1 + e + e²) − 1 = 1.407606; mean = 1.134800
			name: "InfoNCE/extra-negative",
			fn:   func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 1) },
			inputs: []any{
				[][]float64{{1, 0}, {0, 1}},
				[][]float64{{1, 0}, {1, 1}, {0, 2}},
			},
			want: (ln(2*math.E+1) - 1 + ln(1+math.E+math.E*math.E) - 1) / 2,
		},
		{
			// τ = 0.5 doubles S: [[2, 2], [0, 2]]; row 0: ln 2; row 1: ln(1+e^−2) = 0.126928
			name: "InfoNCE/temperature",
			fn:   func(xs []*Node) *Node { return losses.InfoNCE(xs[0], xs[1], 0.5) },
			inputs: []any{
				[][]float64{{1, 0}, {0, 1}},
				[][]float64{{1, 0}, {1, 1}},
			},
			want: (ln(2) + math.Log1p(math.Exp(-2))) / 2,
		},
		{
			// B = 2 queries, g = 2 passages each (positive, negative): S = [[2, 0, 1, 0], [0, 1, 1, 0]].
			// Query 0's positive is column 0: ln(e² + 1 + e + 1) − 2 = 0.495718.
			// Query 1's positive is column 2: ln(1 + e + e + 1) − 1 = 0.700630. Mean = 0.598174.
			name:   "InBatchScores",
			fn:     func(xs []*Node) *Node { return losses.InBatchScores(xs[0], 2, 1) },
			inputs: []any{[][]float64{{2, 0, 1, 0}, {0, 1, 1, 0}}},
			want:   (ln(math.E*math.E+math.E+2) - 2 + ln(2*math.E+2) - 1) / 2,
		},
		{
			// g = 1 and S = q·dᵀ of the InfoNCE case above give InfoNCE's value; τ = 0.5 doubles S.
			name:   "InBatchScores/temperature",
			fn:     func(xs []*Node) *Node { return losses.InBatchScores(xs[0], 1, 0.5) },
			inputs: []any{[][]float64{{1, 1}, {0, 1}}},
			want:   (ln(2) + math.Log1p(math.Exp(-2))) / 2,
		},
	}
}

// TestHandComputedValues checks every loss against the hand-computed values above, in float64 and float32,
// and that the result is a scalar of the inputs' dtype.
func TestHandComputedValues(t *testing.T) {
	for _, c := range handCases() {
		for _, dt := range []dtypes.DType{dtypes.Float64, dtypes.Float32} {
			t.Run(c.name+"/"+dt.String(), func(t *testing.T) {
				got, gotDT, err := evalErr(t, c.fn, dt, c.inputs...)
				if err != nil {
					t.Fatal(err)
				}
				if gotDT != dt {
					t.Errorf("result dtype %s, want %s", gotDT, dt)
				}
				tol := 1e-12
				if dt == dtypes.Float32 {
					tol = 2e-6
				}
				if !near(got, c.want, tol, tol) {
					t.Errorf("got %.12g, want %.12g", got, c.want)
				}
			})
		}
	}
}

func TestStandardize(t *testing.T) {
	// mean 2.5; deviations −1.5, −0.5, 0.5, 1.5; variance (2.25+0.25+0.25+2.25)/4 = 1.25; σ = 1.118034
	got := evalTensor(t, func(xs []*Node) *Node { return losses.Standardize(xs[0]) }, []float64{1, 2, 3, 4})
	want := []float64{-1.3416407811333109, -0.44721359371110364, 0.44721359371110364, 1.3416407811333109}
	for i := range want {
		if !near(got[i], want[i], 1e-9, 0) {
			t.Errorf("Standardize(1,2,3,4)[%d] = %.12g, want %.12g", i, got[i], want[i])
		}
	}
	// A 2-D batch is standardised as a whole: mean 0 and population variance 1 over all its elements.
	z := evalTensor(t, func(xs []*Node) *Node { return losses.Standardize(xs[0]) },
		[][]float64{{10, 12, 7}, {3, 8, 20}})
	var sum, sumSq float64
	for _, v := range z {
		sum += v
		sumSq += v * v
	}
	if mean, variance := sum/6, sumSq/6; !near(mean, 0, 1e-12, 0) || !near(variance, 1, 1e-7, 0) {
		t.Errorf("standardised batch has mean %g and variance %g, want 0 and 1", mean, variance)
	}
	// Identical scores map to zeros, not NaN.
	for i, v := range evalTensor(t, func(xs []*Node) *Node { return losses.Standardize(xs[0]) }, []float64{3, 3, 3}) {
		if v != 0 {
			t.Errorf("Standardize(3,3,3)[%d] = %g, want 0", i, v)
		}
	}
}

func TestMinMaxNormalize(t *testing.T) {
	// row 0: min 1, max 3 → (0, 2, 1)/2 = (0, 1, 0.5); row 1: constant → zeros.
	got := evalTensor(t, func(xs []*Node) *Node { return losses.MinMaxNormalize(xs[0]) },
		[][]float64{{1, 3, 2}, {5, 5, 5}})
	want := []float64{0, 1, 0.5, 0, 0, 0}
	for i := range want {
		if !near(got[i], want[i], 1e-7, 0) {
			t.Errorf("MinMaxNormalize[%d] = %.12g, want %.12g", i, got[i], want[i])
		}
	}
}

func TestSparsityWeight(t *testing.T) {
	for _, c := range []struct {
		lambda      float64
		step, steps int
		want        float64
	}{
		{3, 0, 10, 0},           // start of warm-up
		{3, 5, 10, 0.75},        // 3·(5/10)² = 0.75
		{3, 1, 10, 0.03},        // 3·(1/10)² = 0.03
		{3, 10, 10, 3},          // end of warm-up
		{3, 25, 10, 3},          // after it
		{3, -1, 10, 0},          // before training
		{3, 0, 0, 3},            // no warm-up
		{0.5, 7, -4, 0.5},       // no warm-up
		{1e-3, 50, 100, 2.5e-4}, // 1e-3·(1/2)²
	} {
		if got := losses.SparsityWeight(c.lambda, c.step, c.steps); !near(got, c.want, 1e-15, 1e-12) {
			t.Errorf("SparsityWeight(%g, %d, %d) = %g, want %g", c.lambda, c.step, c.steps, got, c.want)
		}
	}
}
