package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// tinyTestConfig is a float64 BERT small enough for finite differences.
func tinyTestConfig() *Config {
	return &Config{
		ModelType: "bert", VocabSize: 40, HiddenSize: 8, NumHiddenLayers: 2, NumAttentionHeads: 2,
		IntermediateSize: 16, HiddenAct: "gelu", MaxPositionEmbeddings: 16, TypeVocabSize: 2,
		InitializerRange: 0.5, LayerNormEps: 1e-12, DType: "float64", NumLabels: 1,
	}
}

// testBatch is a fixed batch of 2 sequences of length 6, the second with 2 padding tokens.
func testBatch() (ids, types [][]int32, mask [][]bool) {
	ids = [][]int32{{2, 7, 9, 3, 11, 3}, {2, 5, 3, 8, 0, 0}}
	types = [][]int32{{0, 0, 0, 0, 1, 1}, {0, 0, 0, 1, 0, 0}}
	mask = [][]bool{{true, true, true, true, true, true}, {true, true, true, true, false, false}}
	return
}

// gradCheck compares the gradient GoMLX builds for every trainable variable with central finite
// differences at a few random entries of each.
func gradCheck(t *testing.T, backend backends.Backend, lossFn func(ctx *context.Context, ids, types, mask *Node) *Node) {
	t.Helper()
	ctx := context.New().Checked(false)
	if err := ctx.SetRNGStateFromSeed(7); err != nil {
		t.Fatal(err)
	}
	ctx.SetParam(context.ParamInitialSeed, int64(7))
	ids, types, mask := testBatch()
	var vars []*context.Variable
	gradExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, ids, types, mask *Node) []*Node {
		loss := lossFn(ctx.In("model"), ids, types, mask)
		g := loss.Graph()
		vars = vars[:0]
		var nodes []*Node
		ctx.EnumerateVariables(func(v *context.Variable) {
			if v.Trainable && v.InUseByGraph(g) {
				vars = append(vars, v)
				nodes = append(nodes, v.ValueGraph(g))
			}
		})
		return append([]*Node{loss}, Gradient(loss, nodes...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := gradExec.Exec(ids, types, mask)
	if err != nil {
		t.Fatal(err)
	}
	if len(vars) < 10 {
		t.Fatalf("only %d trainable variables took part in the loss", len(vars))
	}
	lossExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, ids, types, mask *Node) *Node {
		return lossFn(ctx.In("model"), ids, types, mask)
	})
	if err != nil {
		t.Fatal(err)
	}
	lossAt := func() float64 {
		o, err := lossExec.Exec(ids, types, mask)
		if err != nil {
			t.Fatal(err)
		}
		return o[0].Value().(float64)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const eps = 1e-6
	checked := 0
	for i, v := range vars {
		grad := tensors.MustCopyFlatData[float64](out[i+1])
		orig := tensors.MustCopyFlatData[float64](v.MustValue())
		dims := v.Shape().Dimensions
		for range 3 {
			k := rng.IntN(len(orig))
			perturbed := append([]float64(nil), orig...)
			perturbed[k] = orig[k] + eps
			v.MustSetValue(tensors.FromFlatDataAndDimensions(perturbed, dims...))
			plus := lossAt()
			perturbed[k] = orig[k] - eps
			v.MustSetValue(tensors.FromFlatDataAndDimensions(perturbed, dims...))
			minus := lossAt()
			v.MustSetValue(tensors.FromFlatDataAndDimensions(orig, dims...))
			numeric := (plus - minus) / (2 * eps)
			if diff := math.Abs(numeric - grad[k]); diff > 1e-6+1e-4*math.Max(math.Abs(numeric), math.Abs(grad[k])) {
				t.Errorf("%s[%d]: gradient %.9g, finite differences %.9g", v.ScopeAndName(), k, grad[k], numeric)
			}
			checked++
		}
	}
	t.Logf("checked %d gradient entries over %d variables", checked, len(vars))
}

// weightedSum is Σ x·w with fixed pseudo-random w, a loss that touches every output.
func weightedSum(x *Node) *Node {
	n := x.Shape().Size()
	w := make([]float64, n)
	for i := range w {
		w[i] = math.Sin(float64(3*i + 1))
	}
	return ReduceAllSum(Mul(x, Reshape(Const(x.Graph(), w), x.Shape().Dimensions...)))
}

func TestGradientCrossEncoder(t *testing.T) {
	cfg := tinyTestConfig()
	gradCheck(t, testBackend(t), func(ctx *context.Context, ids, types, mask *Node) *Node {
		return weightedSum(CrossEncoderLogits(ctx, cfg, ids, types, mask))
	})
}

func TestGradientColBERT(t *testing.T) {
	cfg := tinyTestConfig()
	gradCheck(t, testBackend(t), func(ctx *context.Context, ids, types, mask *Node) *Node {
		emb := ColBERTEmbeddings(ctx, cfg, 4, ids, mask)
		// Score each sequence against the other one (query = row i, document = row 1-i).
		swap := Const(emb.Graph(), [][]int32{{1}, {0}})
		docs, docMask := Gather(emb, swap), Gather(mask, swap)
		return weightedSum(MaxSim(emb, docs, docMask))
	})
}

func TestGradientSPLADE(t *testing.T) {
	cfg := tinyTestConfig()
	gradCheck(t, testBackend(t), func(ctx *context.Context, ids, types, mask *Node) *Node {
		v := SpladeVectors(ctx, cfg, ids, types, mask)
		return weightedSum(v)
	})
}

func TestGradientMeanPooled(t *testing.T) {
	cfg := tinyTestConfig()
	gradCheck(t, testBackend(t), func(ctx *context.Context, ids, types, mask *Node) *Node {
		return weightedSum(MeanPooled(ctx, cfg, ids, mask))
	})
}
