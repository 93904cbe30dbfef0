package backend_test

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/graph"

	"github.com/mimicry-ir/mimicry/models/backend"
)

// Every part of Mimicry gets its backend from this package: New for a fresh one, Default for the shared one.
func ExampleNew() {
	b, err := backend.New()
	if err != nil {
		fmt.Println("no backend:", err)
		return
	}
	defer b.Finalize()
	y := graph.MustExecOnce(b, func(x, w *graph.Node) *graph.Node {
		return graph.Dot(x, w)
	}, [][]float32{{1, 2}, {3, 4}}, [][]float32{{0, 1}, {1, 0}})
	fmt.Println(y.Value())
	// Output: [[2 1] [4 3]]
}

// Choose tells which configuration New would try first, and why; NewWithChoice also reports a fallback.
func ExampleChoose() {
	c := backend.Choose()
	fmt.Println(c.Config != "", c.Reason != "")
	// Output: true true
}

// New registers the faster DotGeneral gradient; it can also be registered explicitly, before building graphs.
func ExampleRegisterDotGeneralGradient() {
	// New registers the DotGeneral gradient; calling it again is harmless.
	backend.RegisterDotGeneralGradient()
	b, err := backend.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Finalize()
	grads := graph.MustExecOnceN(b, func(x, w *graph.Node) []*graph.Node {
		loss := graph.ReduceAllSum(graph.Dot(x, w))
		return graph.Gradient(loss, x, w)
	}, [][]float32{{1, 2}, {3, 4}}, [][]float32{{1, 0}, {0, 1}})
	fmt.Println(grads[0].Value(), grads[1].Value())
	// Output: [[1 1] [1 1]] [[4 4] [6 6]]
}
