package backend

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"unsafe"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/shapes"
)

var (
	// gradMu guards the fields below and our writes to graph.VJPRegistration.
	gradMu sync.Mutex
	// stockSaved is set once GoMLX's original VJPs have been saved in stockDotGeneralVJP/stockDotVJP.
	stockSaved                      bool
	stockDotGeneralVJP, stockDotVJP graph.VJP
	// dotGradRegistered is whether our VJPs are the ones in graph.VJPRegistration.
	dotGradRegistered bool
)

// init registers the DotGeneral gradient as soon as the package is imported, before any graph can be built
// by its importers, so that the first call to New doesn't write the global map while others read it.
func init() { RegisterDotGeneralGradient() }

// RegisterDotGeneralGradient makes the gradients of DotGeneral and Dot nodes DotGeneral ops themselves
// (plus a Transpose where the layout requires one) instead of GoMLX v0.26's broadcast-multiply + ReduceSum,
// which is much slower and allocates an O(B·L·Hin·Hout) intermediate. It is idempotent; importing this
// package calls it, and so does [New] (which re-registers it after [UseStockDotGeneralGradient]).
//
// It writes to graph.VJPRegistration, a global map: call it before building graphs that take gradients,
// not concurrently with them. Graphs already built keep the gradient they were built with.
func RegisterDotGeneralGradient() {
	gradMu.Lock()
	defer gradMu.Unlock()
	if dotGradRegistered {
		return
	}
	saveStockLocked()
	graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
	graph.VJPRegistration[graph.NodeTypeDot] = dotVJP
	dotGradRegistered = true
}

// UseStockDotGeneralGradient restores GoMLX's original gradients of DotGeneral and Dot (e.g. to compare
// both in a benchmark). The same caveats as for [RegisterDotGeneralGradient] apply. A later call to
// [RegisterDotGeneralGradient] (or [New]) registers the faster one again.
func UseStockDotGeneralGradient() {
	gradMu.Lock()
	defer gradMu.Unlock()
	if !dotGradRegistered {
		return
	}
	restoreVJP(graph.NodeTypeDotGeneral, stockDotGeneralVJP)
	restoreVJP(graph.NodeTypeDot, stockDotVJP)
	dotGradRegistered = false
}

// saveStockLocked keeps GoMLX's VJPs (nil if there were none), the first time only. gradMu must be held.
func saveStockLocked() {
	if stockSaved {
		return
	}
	stockDotGeneralVJP = graph.VJPRegistration[graph.NodeTypeDotGeneral]
	stockDotVJP = graph.VJPRegistration[graph.NodeTypeDot]
	stockSaved = true
}

// restoreVJP puts back a saved VJP, or removes the entry if there was none.
func restoreVJP(nodeType graph.NodeType, vjp graph.VJP) {
	if vjp == nil {
		delete(graph.VJPRegistration, nodeType)
		return
	}
	graph.VJPRegistration[nodeType] = vjp
}

// dotAxes are the parameters of a DotGeneral: which axes of each operand are contracted and which are
// batch axes (paired by position). Every other axis is a "cross" axis.
type dotAxes struct {
	lhsContracting, lhsBatch, rhsContracting, rhsBatch []int
}

// dotGeneralVJP is the graph.VJP registered for DotGeneral nodes.
func dotGeneralVJP(node *graph.Node, vjpOutputs []*graph.Node, _ shapes.Shape) []*graph.Node {
	inputs := node.Inputs()
	if len(inputs) != 2 || len(vjpOutputs) != 1 {
		panic(fmt.Errorf("backend: DotGeneral gradient: node %s has %d inputs and %d output VJPs, wanted 2 and 1",
			node, len(inputs), len(vjpOutputs)))
	}
	axes := readDotGeneralAxes(node)
	return dotGeneralGradients(inputs[0], inputs[1], axes, node.Shape(), vjpOutputs[0])
}

// dotVJP is the graph.VJP registered for Dot nodes: Dot contracts lhs's last axis with rhs's first one.
func dotVJP(node *graph.Node, vjpOutputs []*graph.Node, _ shapes.Shape) []*graph.Node {
	inputs := node.Inputs()
	if len(inputs) != 2 || len(vjpOutputs) != 1 {
		panic(fmt.Errorf("backend: Dot gradient: node %s has %d inputs and %d output VJPs, wanted 2 and 1",
			node, len(inputs), len(vjpOutputs)))
	}
	lhs, rhs := inputs[0], inputs[1]
	if lhs.Rank() < 1 || lhs.Rank() > 2 || rhs.Rank() < 1 || rhs.Rank() > 2 {
		panic(fmt.Errorf("backend: Dot gradient: unsupported operand shapes %s and %s", lhs.Shape(), rhs.Shape()))
	}
	axes := dotAxes{lhsContracting: []int{lhs.Rank() - 1}, rhsContracting: []int{0}}
	return dotGeneralGradients(lhs, rhs, axes, node.Shape(), vjpOutputs[0])
}

// readDotGeneralAxes reads the axes of a DotGeneral node from GoMLX's unexported parameters struct
// (graph.nodeInputsDotGeneral), with reflect, panicking if its layout is not the expected one.
func readDotGeneralAxes(node *graph.Node) dotAxes {
	fail := func(format string, args ...any) {
		panic(fmt.Errorf("backend: DotGeneral gradient: unexpected GoMLX internals (%s); this GoMLX "+
			"version is not supported, call backend.UseStockDotGeneralGradient()", fmt.Sprintf(format, args...)))
	}
	if node.Type() != graph.NodeTypeDotGeneral {
		fail("node type is %s", node.Type())
	}
	field := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !field.IsValid() || field.Kind() != reflect.Interface || field.IsNil() {
		fail("graph.Node has no non-nil interface field \"inputs\"")
	}
	params := field.Elem()
	if params.Kind() != reflect.Pointer || params.IsNil() || params.Elem().Kind() != reflect.Struct {
		fail("inputs of a DotGeneral node is a %s, not a pointer to a struct", params.Type())
	}
	params = params.Elem()
	if name := params.Type().Name(); name != "nodeInputsDotGeneral" {
		fail("inputs of a DotGeneral node is a %s", name)
	}
	ints := func(name string) []int {
		f := params.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Slice || f.Type().Elem().Kind() != reflect.Int {
			fail("field %s.%s is not a []int", params.Type().Name(), name)
		}
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out
	}
	samePointer := func(name string, want *graph.Node) {
		f := params.FieldByName(name)
		if !f.IsValid() || f.Kind() != reflect.Pointer || f.Type().Elem() != reflect.TypeOf(graph.Node{}) {
			fail("field %s.%s is not a *graph.Node", params.Type().Name(), name)
		}
		if f.Pointer() != uintptr(unsafe.Pointer(want)) {
			fail("field %s.%s is not the node's input", params.Type().Name(), name)
		}
	}
	inputs := node.Inputs()
	if len(inputs) != 2 {
		fail("DotGeneral node has %d inputs", len(inputs))
	}
	samePointer("lhs", inputs[0])
	samePointer("rhs", inputs[1])
	axes := dotAxes{
		lhsContracting: ints("lhsContractingAxes"),
		lhsBatch:       ints("lhsBatchAxes"),
		rhsContracting: ints("rhsContractingAxes"),
		rhsBatch:       ints("rhsBatchAxes"),
	}
	if err := axes.validate(inputs[0].Shape(), inputs[1].Shape(), node.Shape()); err != nil {
		fail("%v", err)
	}
	return axes
}

// crossAxes returns, in increasing order, the axes of an operand of the given rank that are neither
// contracting nor batch axes.
func crossAxes(rank int, contracting, batch []int) []int {
	var cross []int
	for axis := range rank {
		if !slices.Contains(contracting, axis) && !slices.Contains(batch, axis) {
			cross = append(cross, axis)
		}
	}
	return cross
}

// validate checks that the axes are consistent with the operands' shapes and with the output's shape,
// which must be [batch..., lhs cross..., rhs cross...].
func (a dotAxes) validate(lhs, rhs, output shapes.Shape) error {
	if len(a.lhsContracting) != len(a.rhsContracting) || len(a.lhsBatch) != len(a.rhsBatch) {
		return fmt.Errorf("axes %+v: lhs and rhs have different numbers of contracting or batch axes", a)
	}
	check := func(side string, rank int, lists ...[]int) error {
		seen := make([]bool, rank)
		for _, list := range lists {
			for _, axis := range list {
				if axis < 0 || axis >= rank || seen[axis] {
					return fmt.Errorf("axes %+v: invalid or repeated %s axis %d (rank %d)", a, side, axis, rank)
				}
				seen[axis] = true
			}
		}
		return nil
	}
	if err := check("lhs", lhs.Rank(), a.lhsContracting, a.lhsBatch); err != nil {
		return err
	}
	if err := check("rhs", rhs.Rank(), a.rhsContracting, a.rhsBatch); err != nil {
		return err
	}
	for i := range a.lhsContracting {
		if lhs.Dim(a.lhsContracting[i]) != rhs.Dim(a.rhsContracting[i]) {
			return fmt.Errorf("axes %+v: contracting dimensions differ for %s and %s", a, lhs, rhs)
		}
	}
	var want []int
	for i, axis := range a.lhsBatch {
		if lhs.Dim(axis) != rhs.Dim(a.rhsBatch[i]) {
			return fmt.Errorf("axes %+v: batch dimensions differ for %s and %s", a, lhs, rhs)
		}
		want = append(want, lhs.Dim(axis))
	}
	for _, axis := range crossAxes(lhs.Rank(), a.lhsContracting, a.lhsBatch) {
		want = append(want, lhs.Dim(axis))
	}
	for _, axis := range crossAxes(rhs.Rank(), a.rhsContracting, a.rhsBatch) {
		want = append(want, rhs.Dim(axis))
	}
	if !slices.Equal(want, output.Dimensions) {
		return fmt.Errorf("axes %+v: output shape %s is not [batch..., lhs cross..., rhs cross...] = %v of %s and %s",
			a, output, want, lhs, rhs)
	}
	return nil
}

// dotGeneralGradients returns the gradients with respect to lhs and rhs of output = DotGeneral(lhs, rhs)
// given v, the gradient with respect to output (shaped [batch..., lhs cross..., rhs cross...]).
//
// Each gradient is one DotGeneral of v with the other operand: for lhs it contracts v's rhs-cross axes
// with rhs's cross axes, batching v's batch axes with rhs's batch axes; the result has lhs's batch, cross
// and contracting axes in some order, and a Transpose (skipped when it would be the identity) puts them
// back in lhs's order. Symmetrically for rhs.
func dotGeneralGradients(lhs, rhs *graph.Node, a dotAxes, outputShape shapes.Shape, v *graph.Node) []*graph.Node {
	if !v.Shape().Equal(outputShape) {
		panic(fmt.Errorf("backend: DotGeneral gradient: adjoint shape %s differs from output shape %s",
			v.Shape(), outputShape))
	}
	lhsCross := crossAxes(lhs.Rank(), a.lhsContracting, a.lhsBatch)
	rhsCross := crossAxes(rhs.Rank(), a.rhsContracting, a.rhsBatch)
	nb := len(a.lhsBatch)
	vBatch := axisRange(0, nb)
	vLhsCross := axisRange(nb, len(lhsCross))
	vRhsCross := axisRange(nb+len(lhsCross), len(rhsCross))

	// Gradient for lhs: contract v's rhs-cross axes with rhs's cross axes.
	lhsGrad := operandGradient(lhs.Rank(), a.lhsBatch, lhsCross, a.lhsContracting,
		v, vBatch, vLhsCross, vRhsCross,
		rhs, a.rhsBatch, rhsCross, a.rhsContracting)
	// Gradient for rhs: contract v's lhs-cross axes with lhs's cross axes.
	rhsGrad := operandGradient(rhs.Rank(), a.rhsBatch, rhsCross, a.rhsContracting,
		v, vBatch, vRhsCross, vLhsCross,
		lhs, a.lhsBatch, lhsCross, a.lhsContracting)
	return []*graph.Node{lhsGrad, rhsGrad}
}

// operandGradient computes the gradient for one operand ("this", of rank thisRank, whose batch, cross and
// contracting axes are given) from v (whose batch axes, axes that came from this operand's cross axes, and
// axes that came from the other operand's cross axes are given) and the other operand.
//
// It computes DotGeneral(v, other) or DotGeneral(other, v), whichever gives this operand's layout directly
// (no Transpose), defaulting to the first.
func operandGradient(thisRank int, thisBatch, thisCross, thisContracting []int,
	v *graph.Node, vBatch, vThisCross, vOtherCross []int,
	other *graph.Node, otherBatch, otherCross, otherContracting []int) *graph.Node {
	nb, nThisCross := len(thisBatch), len(thisCross)
	// The other operand's axes left after the DotGeneral are its contracting axes, in increasing order;
	// contracting axis otherContracting[k] pairs with thisContracting[k].
	leftover := slices.Sorted(slices.Values(otherContracting))
	leftoverAsThis := make([]int, len(leftover))
	for m, axis := range leftover {
		k := slices.Index(otherContracting, axis)
		leftoverAsThis[m] = thisContracting[k]
	}

	// permFor returns the Transpose permutation giving this operand's layout from a DotGeneral output
	// whose axes are [batch..., first..., second...].
	permFor := func(vFirst bool) []int {
		perm := make([]int, thisRank)
		for i, axis := range thisBatch {
			perm[axis] = i
		}
		crossStart, leftoverStart := nb, nb+nThisCross
		if !vFirst {
			crossStart, leftoverStart = nb+len(leftover), nb
		}
		for j, axis := range thisCross {
			perm[axis] = crossStart + j
		}
		for m, axis := range leftoverAsThis {
			perm[axis] = leftoverStart + m
		}
		return perm
	}
	isIdentity := func(perm []int) bool {
		for i, p := range perm {
			if i != p {
				return false
			}
		}
		return true
	}

	vFirst := true
	perm := permFor(true)
	if !isIdentity(perm) {
		if alt := permFor(false); isIdentity(alt) {
			vFirst, perm = false, alt
		}
	}
	var grad *graph.Node
	if vFirst {
		grad = graph.DotGeneral(v, vOtherCross, vBatch, other, otherCross, otherBatch)
	} else {
		grad = graph.DotGeneral(other, otherCross, otherBatch, v, vOtherCross, vBatch)
	}
	if !isIdentity(perm) {
		grad = graph.TransposeAllAxes(grad, perm...)
	}
	return grad
}

// axisRange returns [start, start+1, ..., start+n-1].
func axisRange(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}
