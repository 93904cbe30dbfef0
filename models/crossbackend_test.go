package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"github.com/mimicry-ir/mimicry/models/backend/backendtest"
)

// Tolerances of the cross-backend comparisons, SimpleGo's result being the reference: element by
// element, |XLA − SimpleGo| ≤ Rel·|SimpleGo| + Scale·(the tensor's largest magnitude) + Abs·(the
// model's largest gradient entry, for gradients).
//
// In float32 the two backends agree to rounding, not bit for bit: XLA reorders and fuses sums (its
// matmuls block the contraction over H=128 or FFN=512 terms differently), uses FMA, and evaluates exp,
// tanh and erf with its own polynomial approximations. Each such difference is an ulp or so (float32's
// is 1.2e-7 relative); through 2 post-LN layers, a softmax and the backward pass they grew to at most
// 6e-6 of a tensor's largest magnitude in our runs (the SPLADE loss, 50.7 ± 3e-4; see the test's -v
// log), so Scale 2e-5 and Rel 1e-5 leave a margin of about 5×, for other CPUs' code generation, and
// still catch a wrong op: a missing mask, a wrong axis or a dropped term changes results by percents.
// Gradients that are zero in exact arithmetic (the attention key bias) are pure rounding noise,
// bounded by Abs relative to the largest gradient. In float64 the measured differences were below
// 1e-14 of the scale; the tolerances are 100× that.
var (
	crossFP32 = backendtest.Tolerance{Rel: 1e-5, Scale: 2e-5, Abs: 2e-6}
	crossFP64 = backendtest.Tolerance{Rel: 1e-11, Scale: 1e-12, Abs: 1e-13}
)

// crossHead is a head (or the bare encoder) compared across backends: out builds its output in the
// model's root scope; the comparison covers that output and the gradients of a weighted sum of it with
// respect to every parameter.
type crossHead struct {
	name string
	kind Kind
	out  func(ctx *context.Context, cfg *Config, ids, types, mask *Node) *Node
	// float64GradsOnly compares the gradients in float64 only (see SPLADE's entry).
	float64GradsOnly bool
}

var crossHeads = []crossHead{
	{"CrossEncoder", KindCrossEncoder, CrossEncoderLogits, false},
	{"ColBERT", KindColBERT, func(ctx *context.Context, cfg *Config, ids, _, mask *Node) *Node {
		emb := ColBERTEmbeddings(ctx, cfg, 16, ids, mask)
		// Each sequence is scored against the next one, as query against document.
		b := emb.Shape().Dimensions[0]
		next := make([][]int32, b)
		for i := range next {
			next[i] = []int32{int32((i + 1) % b)}
		}
		idx := Const(emb.Graph(), next)
		return MaxSim(emb, Gather(emb, idx), Gather(mask, idx))
	}, false},
	// SPLADE max-pools each term's weight over the positions, so each term's gradient flows to one
	// position. Among its 4 × 30,522 maxima a few have runners-up within float32 rounding (ties at
	// 1e-7 relative), and a backend that rounds differently routes those gradients to another
	// position: the gradients then differ by percents although both are right. (XLA plugins built
	// from other XLA versions did so here; the outputs still agreed to 4e-6.) In float64 such ties
	// are 1e9 times rarer, so SPLADE's gradients are compared there, its outputs in both.
	{"SPLADE", KindSPLADE, SpladeVectors, true},
	{"MeanPooled", KindBiEncoder, func(ctx *context.Context, cfg *Config, ids, _, mask *Node) *Node {
		return MeanPooled(ctx, cfg, ids, mask)
	}, false},
	{"BertEncoder", KindBiEncoder, func(ctx *context.Context, cfg *Config, ids, types, mask *Node) *Node {
		return BertEncoder(ctx.In("bert"), cfg, ids, types, mask)
	}, false},
}

// crossBatch is a batch of 4 random sequences of 24 tokens from a vocabulary of vocab, with 0, 3, 9
// and 17 padding tokens and both token types.
func crossBatch(vocab int) (ids, types [][]int32, mask [][]bool) {
	rng := rand.New(rand.NewPCG(5, 6))
	const b, l = 4, 24
	pad := []int{0, 3, 9, 17}
	for i := range b {
		ids, types, mask = append(ids, make([]int32, l)), append(types, make([]int32, l)), append(mask, make([]bool, l))
		for j := range l - pad[i] {
			ids[i][j] = int32(1 + rng.IntN(vocab-1))
			types[i][j] = int32(j * 2 / (l - pad[i]))
			mask[i][j] = true
		}
	}
	return
}

// TestCrossBackendHeads runs every head and the encoder of the tiny preset (H=128, 2 layers, 4 heads,
// bert-base's 30,522-token vocabulary, no dropout) on SimpleGo and on XLA-CPU with the same
// parameters, in float32 and float64, and compares the outputs and all parameter gradients.
func TestCrossBackendHeads(t *testing.T) {
	both := backendtest.Both(t)
	for _, dtype := range []string{"float32", "float64"} {
		tol := crossFP32
		if dtype == "float64" {
			tol = crossFP64
		}
		cfg, err := NewConfig(PresetTiny, 30522)
		if err != nil {
			t.Fatal(err)
		}
		cfg.HiddenDropoutProb, cfg.AttentionProbsDropoutProb, cfg.DType = 0, 0, dtype
		ids, types, mask := crossBatch(cfg.VocabSize)
		for _, h := range crossHeads {
			t.Run(h.name+"/"+dtype, func(t *testing.T) {
				var ref map[string]*tensors.Tensor
				var results [][]*tensors.Tensor
				var names []string
				for _, nb := range both {
					m, err := New(h.kind, cfg, 16, 42)
					if err != nil {
						t.Fatal(err)
					}
					if ref == nil { // Materialised on SimpleGo; copied into the XLA-CPU model.
						if err := m.Materialize(nb.Backend); err != nil {
							t.Fatal(err)
						}
						if ref, err = m.Params(); err != nil {
							t.Fatal(err)
						}
					} else {
						copyParams(t, m, ref)
					}
					outs, n := forwardAndGradients(t, nb.Backend, m, h.out, ids, types, mask)
					results, names = append(results, outs), n
				}
				// Gradients that are zero in exact arithmetic (the attention key bias: adding the same
				// q·b to every score of a query leaves its softmax unchanged) come out as rounding
				// noise, so every gradient also gets an absolute tolerance relative to the largest
				// gradient of the model.
				gradMax := 0.0
				for i := 2; i < len(names); i++ {
					gradMax = max(gradMax, maxAbs(results[0][i]))
				}
				t.Logf("largest gradient entry: %.3g", gradMax)
				for i, name := range names {
					if i >= 2 && h.float64GradsOnly && dtype == "float32" {
						break
					}
					tt := tol
					if i >= 2 {
						tt.Abs = tol.Abs * gradMax
					}
					backendtest.Compare(t, name, results[1][i], results[0][i], tt)
				}
			})
		}
	}
}

// copyParams sets m's parameters to copies of params (so that no tensor is shared between backends).
func copyParams(t *testing.T, m *Model, params map[string]*tensors.Tensor) {
	t.Helper()
	for name, p := range params {
		var c *tensors.Tensor
		switch m.Config.DType {
		case "float64":
			c = tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float64](p), p.Shape().Dimensions...)
		default:
			c = tensors.FromFlatDataAndDimensions(tensors.MustCopyFlatData[float32](p), p.Shape().Dimensions...)
		}
		if err := m.SetParam(name, c); err != nil {
			t.Fatal(err)
		}
	}
}

// forwardAndGradients runs out on b and returns its output, the loss Σ out·w (w fixed pseudo-random)
// and the loss's gradient with respect to every parameter the output depends on, sorted by name, with
// the names of all these tensors.
func forwardAndGradients(t *testing.T, b backends.Backend, m *Model,
	out func(ctx *context.Context, cfg *Config, ids, types, mask *Node) *Node,
	ids, types [][]int32, mask [][]bool) ([]*tensors.Tensor, []string) {
	t.Helper()
	var names []string
	exec, err := context.NewExec(b, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) []*Node {
		y := out(ctx.In(ModelScope), m.Config, ids, types, mask)
		loss := weightedSumAnyDType(y)
		g := loss.Graph()
		var vars []*context.Variable
		for v := range ctx.IterVariables() {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v)
			}
		}
		slices.SortFunc(vars, func(a, b *context.Variable) int { return cmpString(ParamName(a), ParamName(b)) })
		names = []string{"output", "loss"}
		nodes := make([]*Node, len(vars))
		for i, v := range vars {
			nodes[i] = v.ValueGraph(g)
			names = append(names, "∂loss/∂"+ParamName(v))
		}
		return append([]*Node{y, loss}, Gradient(loss, nodes...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	outs, err := exec.Exec(ids, types, mask)
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) < 10 {
		t.Fatalf("only %d gradients: too few parameters took part", len(outs)-2)
	}
	return outs, names
}

// weightedSumAnyDType is Σ x·w with fixed pseudo-random w in x's dtype, a loss that touches every output.
func weightedSumAnyDType(x *Node) *Node {
	w := make([]float64, x.Shape().Size())
	for i := range w {
		w[i] = math.Sin(float64(3*i + 1))
	}
	wn := ConvertDType(Reshape(Const(x.Graph(), w), x.Shape().Dimensions...), x.DType())
	return ReduceAllSum(Mul(x, wn))
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// maxAbs is the largest magnitude of a float tensor's entries.
func maxAbs(t *tensors.Tensor) float64 {
	m := 0.0
	t.MustConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				m = max(m, math.Abs(float64(v)))
			}
		case []float64:
			for _, v := range f {
				m = max(m, math.Abs(v))
			}
		}
	})
	return m
}
