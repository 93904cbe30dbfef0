package backend

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// execN compiles and runs fn (a graph function returning several outputs) once.
func execN(b backends.Backend, fn any, args ...any) ([]*tensors.Tensor, error) {
	e, err := graph.NewExecAny(b, fn)
	if err != nil {
		return nil, err
	}
	defer e.Finalize()
	return e.Exec(args...)
}

// TestSimpleGoGatherGradient checks that an embedding lookup (Gather) can be differentiated on SimpleGo:
// its gradient is a ScatterSum, which SimpleGo implements.
func TestSimpleGoGatherGradient(t *testing.T) {
	b := testBackend(t)
	table := tensors.FromValue([][]float32{{1, 2}, {3, 4}, {5, 6}, {7, 8}})
	ids := tensors.FromValue([][][]int32{{{2}, {0}, {2}}}) // [batch=1, seq=3, 1]
	out, err := execN(b, func(table, ids *graph.Node) []*graph.Node {
		emb := graph.Gather(table, ids) // [1, 3, 2]
		w := graph.Const(table.Graph(), [][][]float32{{{1, 10}, {100, 1000}, {2, 20}}})
		loss := graph.ReduceAllSum(graph.Mul(emb, w))
		return []*graph.Node{loss, graph.Gradient(loss, table)[0]}
	}, table, ids)
	if err != nil {
		t.Fatalf("Gather gradient on SimpleGo: %v", err)
	}
	// Row 2 is used at positions 0 and 2 (weights {1,10}+{2,20}), row 0 at position 1.
	want := []float32{100, 1000, 0, 0, 3, 30, 0, 0}
	got := tensors.MustCopyFlatData[float32](out[1])
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("gradient of the table = %v, want %v", got, want)
		}
	}
}

// TestSimpleGoSliceGradientNeedsPad documents a trap: the gradient of Slice is built with Pad, which
// SimpleGo (GoMLX v0.26) doesn't implement. If this test starts failing because the gradient works, update
// the package documentation.
func TestSimpleGoSliceGradientNeedsPad(t *testing.T) {
	b := testBackend(t)
	x := tensors.FromValue([][]float32{{1, 2, 3}, {4, 5, 6}})
	_, err := graph.ExecOnce(b, func(x *graph.Node) *graph.Node {
		loss := graph.ReduceAllSum(graph.Slice(x, graph.AxisRange(0, 1), graph.AxisRange(1, 3)))
		return graph.Gradient(loss, x)[0]
	}, x)
	if err == nil {
		t.Fatal("the gradient of Slice worked on SimpleGo: update the package documentation (Pad is implemented?)")
	}
	if !strings.Contains(err.Error(), "Pad") {
		t.Errorf("the gradient of Slice failed, but not because of Pad: %v", err)
	}
}

// TestSimpleGoUnsupportedOpsList checks the list of unsupported ops in the package documentation against
// SimpleGo's capabilities.
func TestSimpleGoUnsupportedOpsList(t *testing.T) {
	b := testBackend(t)
	caps := b.Capabilities()
	for _, op := range []string{"Pad", "Reverse", "DynamicSlice", "DynamicUpdateSlice", "SelectAndScatterMax",
		"ShiftLeft", "ShiftRightLogical", "Bitcast"} {
		for opType, ok := range caps.Operations {
			if opType.String() == op && ok {
				t.Errorf("SimpleGo now supports %s: update the package documentation", op)
			}
		}
	}
	for _, op := range []string{"DotGeneral", "Gather", "ScatterSum", "Erf", "Tanh", "ReduceMax", "ReduceSum",
		"Rsqrt", "Where", "Concatenate", "Slice", "ConvertDType", "RNGBitGenerator", "Transpose", "Exp", "Log"} {
		found := false
		for opType, ok := range caps.Operations {
			if opType.String() == op && ok {
				found = true
			}
		}
		if !found {
			t.Errorf("SimpleGo doesn't support %s, which the package documentation says works", op)
		}
	}
}

// TestDocumentedMissingGradients checks the package documentation's list of ops for which GoMLX defines
// no gradient at all (whatever the backend).
func TestDocumentedMissingGradients(t *testing.T) {
	for _, nt := range []graph.NodeType{graph.NodeTypeRsqrt, graph.NodeTypeExpm1, graph.NodeTypeClamp,
		graph.NodeTypeReduceProduct} {
		if _, ok := graph.VJPRegistration[nt]; ok {
			t.Errorf("GoMLX now has a gradient for %s: update the package documentation", nt)
		}
	}
}

// TestSimpleGoBERTLikeStepGradient differentiates a tiny BERT-like step — embedding Gather, layer norm (with
// Div and Sqrt),
// attention with softmax, GELU (Erf), dropout (RandomUniform), Concatenate, Dense layers — on SimpleGo.
func TestSimpleGoBERTLikeStepGradient(t *testing.T) {
	b := testBackend(t)
	const vocab, hidden, seq = 10, 4, 3
	table := tensors.FromShape(shapes.Make(dtypes.Float32, vocab, hidden))
	tensors.MutableFlatData(table, func(flat []float32) {
		for i := range flat {
			flat[i] = float32(math.Sin(float64(i)))
		}
	})
	ids := tensors.FromValue([][][]int32{{{1}, {7}, {3}}, {{0}, {1}, {9}}})
	w := tensors.FromShape(shapes.Make(dtypes.Float32, 2*hidden, hidden))
	tensors.MutableFlatData(w, func(flat []float32) {
		for i := range flat {
			flat[i] = float32(math.Cos(float64(i))) / 2
		}
	})
	rngState, err := graph.RNGStateFromSeed(1)
	if err != nil {
		t.Fatal(err)
	}
	out, err := execN(b, func(table, ids, w *graph.Node) []*graph.Node {
		g := table.Graph()
		x := graph.Gather(table, ids) // [2, seq, hidden]
		mean := graph.ReduceAndKeep(x, graph.ReduceMean, -1)
		centered := graph.Sub(x, mean)
		variance := graph.ReduceAndKeep(graph.Square(centered), graph.ReduceMean, -1)
		x = graph.Div(centered, graph.Sqrt(graph.AddScalar(variance, 1e-6))) // Not Rsqrt: it has no gradient.
		scores := graph.Softmax(graph.Einsum("bqd,bkd->bqk", x, x), -1)
		attn := graph.Einsum("bqk,bkd->bqd", scores, x)
		gelu := graph.Mul(attn, graph.MulScalar(graph.AddScalar(graph.Erf(graph.MulScalar(attn, 1/math.Sqrt2)), 1), 0.5))
		_, u := graph.RandomUniform(graph.Const(g, rngState), gelu.Shape())
		dropped := graph.Where(graph.GreaterThan(u, graph.Scalar(g, dtypes.Float32, 0.1)), gelu,
			graph.ZerosLike(gelu))
		y := graph.Einsum("bsi,io->bso", graph.Concatenate([]*graph.Node{dropped, x}, -1), w)
		loss := graph.ReduceAllMean(graph.Square(y))
		grads := graph.Gradient(loss, table, w)
		return []*graph.Node{loss, grads[0], grads[1]}
	}, table, ids, w)
	if err != nil {
		t.Fatalf("BERT-like step gradient on SimpleGo: %v", err)
	}
	for i, o := range out {
		for _, v := range tensors.MustCopyFlatData[float32](o) {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("output %d has non-finite values: %v", i, o)
			}
		}
	}
	// Rows of the table that no id uses get no gradient; used rows do.
	grad := tensors.MustCopyFlatData[float32](out[1])
	used := map[int]bool{0: true, 1: true, 3: true, 7: true, 9: true}
	for row := range vocab {
		var norm float64
		for j := range hidden {
			norm += math.Abs(float64(grad[row*hidden+j]))
		}
		if used[row] != (norm > 0) {
			t.Errorf("table row %d: gradient norm %g, used=%v", row, norm, used[row])
		}
	}
}
