// Package backendtest lets tests run the same graph on SimpleGo and on XLA-CPU in one process and
// compare the results: every graph of Mimicry must run on both backends.
//
// [Pair] (or [Both]) returns the two backends, or skips the test with a message when no XLA CPU PJRT
// plugin is installed (see package backend for where it is searched; `python3 -m venv .venv &&
// .venv/bin/pip install -r docker/requirements.txt` in the repository root installs one). With
// $MIMICRY_REQUIRE_XLA_CPU=1 (CI sets it) a missing plugin fails the test instead. [Compare] checks
// that two tensors agree within a [Tolerance].
//
// Name such tests TestCrossBackend... so that `go test -run CrossBackend ./...` selects them all.
package backendtest

import (
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"

	"github.com/mimicry-ir/mimicry/models/backend"
)

// RequireEnvVar, set to "1", makes [Pair] fail rather than skip when XLA-CPU cannot be had.
const RequireEnvVar = "MIMICRY_REQUIRE_XLA_CPU"

// Named is a backend with a short name for subtests and messages ("SimpleGo" or "XLA-CPU").
type Named struct {
	Name    string
	Backend backends.Backend
}

// pair holds the process-wide backends, created on first use and never finalised (tests share them).
var pair = sync.OnceValues(func() ([2]Named, error) {
	simple, err := backend.NewSimpleGo()
	if err != nil {
		return [2]Named{}, fmt.Errorf("creating SimpleGo: %w", err)
	}
	if !backend.XLACompiled() {
		return [2]Named{}, errors.New("this test binary was built without the XLA backend (it needs cgo on linux/amd64 or darwin, and no \"noxla\" tag)")
	}
	xla, _, err := backend.NewXLACPU()
	if err != nil {
		return [2]Named{}, err
	}
	return [2]Named{{"SimpleGo", simple}, {"XLA-CPU", xla}}, nil
})

// Pair returns SimpleGo (with backend.SimpleGoConfig) and XLA-CPU (on the plugin backend.FindCPUPlugin
// finds), whatever GOMLX_BACKEND says. Both are created once per process and shared: do not Finalize
// them. It skips t, with the reason, when XLA-CPU cannot be created (fails it under $MIMICRY_REQUIRE_XLA_CPU=1).
func Pair(t testing.TB) (simpleGo, xlaCPU backends.Backend) {
	t.Helper()
	b := Both(t)
	return b[0].Backend, b[1].Backend
}

// Both is [Pair] as a list, SimpleGo first, for loops over backends.
func Both(t testing.TB) []Named {
	t.Helper()
	p, err := pair()
	if err != nil {
		if os.Getenv(RequireEnvVar) == "1" {
			t.Fatalf("cross-backend test: XLA-CPU is required ($%s=1): %v", RequireEnvVar, err)
		}
		t.Skipf("cross-backend test skipped: %v", err)
	}
	return p[:]
}

// Tolerance bounds the difference of two results: got and want agree where, element by element,
// |got − want| ≤ Abs + Rel·|want| + Scale·max|want| (the last term makes the bound relative to the
// tensor's largest magnitude, for entries that are near zero by cancellation).
type Tolerance struct {
	Abs, Rel, Scale float64
}

// Compare fails t (without stopping it) when got and want differ in shape or, for floating-point
// tensors, beyond tol, and exactly for other dtypes. what names the tensor in messages. It reports the
// worst element and logs the largest differences seen, to help set tolerances.
func Compare(t testing.TB, what string, got, want *tensors.Tensor, tol Tolerance) {
	t.Helper()
	if !got.Shape().Equal(want.Shape()) {
		t.Errorf("%s: shape %s, want %s", what, got.Shape(), want.Shape())
		return
	}
	g, err1 := asFloat64(got)
	w, err2 := asFloat64(want)
	if err := errors.Join(err1, err2); err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if !got.DType().IsFloat() {
		tol = Tolerance{}
	}
	maxAbs := 0.0
	for _, v := range w {
		maxAbs = math.Max(maxAbs, math.Abs(v))
	}
	worst, worstRatio, maxDiff := -1, 0.0, 0.0
	for i := range w {
		diff := math.Abs(g[i] - w[i])
		if math.IsNaN(g[i]) != math.IsNaN(w[i]) || math.IsInf(g[i], 0) != math.IsInf(w[i], 0) {
			diff = math.Inf(1)
		} else if math.IsNaN(g[i]) || (math.IsInf(g[i], 0) && g[i] == w[i]) {
			continue
		}
		maxDiff = math.Max(maxDiff, diff)
		bound := tol.Abs + tol.Rel*math.Abs(w[i]) + tol.Scale*maxAbs
		ratio := math.Inf(1)
		if bound > 0 {
			ratio = diff / bound
		} else if diff == 0 {
			ratio = 0
		}
		if ratio > worstRatio {
			worst, worstRatio = i, ratio
		}
	}
	if worstRatio > 1 {
		t.Errorf("%s %s: element %d is %.9g, want %.9g (|diff| %.3g; tolerance %+v; max |want| %.3g)",
			what, got.Shape(), worst, g[worst], w[worst], math.Abs(g[worst]-w[worst]), tol, maxAbs)
		return
	}
	if testing.Verbose() {
		t.Logf("%s %s: max |diff| %.3g (max |want| %.3g), %.0f%% of the tolerance", what, got.Shape(), maxDiff, maxAbs, 100*worstRatio)
	}
}

// asFloat64 copies a tensor's values as float64.
func asFloat64(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float32:
		f, err := tensors.CopyFlatData[float32](t)
		return convert(f), err
	case dtypes.Float64:
		return tensors.CopyFlatData[float64](t)
	case dtypes.Int32:
		f, err := tensors.CopyFlatData[int32](t)
		return convert(f), err
	case dtypes.Int64:
		f, err := tensors.CopyFlatData[int64](t)
		return convert(f), err
	case dtypes.Bool:
		f, err := tensors.CopyFlatData[bool](t)
		out := make([]float64, len(f))
		for i, b := range f {
			if b {
				out[i] = 1
			}
		}
		return out, err
	}
	return nil, fmt.Errorf("dtype %s not supported by Compare", t.DType())
}

func convert[T int32 | int64 | float32](s []T) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}
