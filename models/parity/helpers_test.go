package parity

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/safetensors"
)

// tolerance is the largest |Go − Python| allowed, in float32.
const tolerance = 1e-4

// namedBackend is a backend under test.
type namedBackend struct {
	name string
	be   backends.Backend
}

// testBackends returns SimpleGo, and the backend models/backend chooses (GOMLX_BACKEND, an XLA
// plugin) when that is another.
func testBackends(t *testing.T) []namedBackend {
	t.Helper()
	env, had := os.LookupEnv(backend.ConfigEnvVar)
	os.Setenv(backend.ConfigEnvVar, backend.SimpleGoConfig)
	sg, err := backend.New()
	if had {
		os.Setenv(backend.ConfigEnvVar, env)
	} else {
		os.Unsetenv(backend.ConfigEnvVar)
	}
	if err != nil {
		t.Fatal(err)
	}
	out := []namedBackend{{"SimpleGo", sg}}
	def, choice, err := backend.NewWithChoice()
	if err != nil {
		t.Logf("backend.New: %v (testing SimpleGo only)", err)
		return out
	}
	if choice.Config != backend.SimpleGoConfig {
		out = append(out, namedBackend{choice.Config, def})
	} else {
		t.Logf("no other backend than SimpleGo here (%s)", choice.Reason)
	}
	return out
}

// readFixture opens testdata/name.
func readFixture(t *testing.T, name string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func f32s(t *testing.T, f *safetensors.File, name string) ([]float32, []int) {
	t.Helper()
	x, ok := f.Get(name)
	if !ok {
		t.Fatalf("fixture has no tensor %q", name)
	}
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v, x.Shape
}

func ints(t *testing.T, f *safetensors.File, name string) ([]int64, []int) {
	t.Helper()
	x, ok := f.Get(name)
	if !ok {
		t.Fatalf("fixture has no tensor %q", name)
	}
	v, err := x.Int64s()
	if err != nil {
		t.Fatal(err)
	}
	return v, x.Shape
}

// batch is a padded batch of token rows as the graphs take it.
type batch struct {
	ids, types, mask [][]int32
	lengths          []int
}

// rows makes a batch from a fixture's [N, L] ids (and types, or nil) and per-row lengths.
func rows(ids []int64, shape []int, types []int64, lengths []int64) batch {
	n, l := shape[0], shape[1]
	b := batch{}
	for i := range n {
		id, ty, m := make([]int32, l), make([]int32, l), make([]int32, l)
		for j := range l {
			id[j] = int32(ids[i*l+j])
			if types != nil {
				ty[j] = int32(types[i*l+j])
			}
			if j < int(lengths[i]) {
				m[j] = 1
			} else {
				id[j] = 0 // whatever the padding token, the mask hides it
			}
		}
		b.ids, b.types, b.mask = append(b.ids, id), append(b.types, ty), append(b.mask, m)
		b.lengths = append(b.lengths, int(lengths[i]))
	}
	return b
}

// sub returns rows [from, to) cut to the longest of them.
func (b batch) sub(from, to int) batch {
	l := 0
	for _, n := range b.lengths[from:to] {
		l = max(l, n)
	}
	out := batch{lengths: b.lengths[from:to]}
	for i := from; i < to; i++ {
		out.ids = append(out.ids, b.ids[i][:l])
		out.types = append(out.types, b.types[i][:l])
		out.mask = append(out.mask, b.mask[i][:l])
	}
	return out
}

// output is one graph output as float32 values with its shape.
type output struct {
	values []float32
	shape  []int
}

// run executes fn on the model's parameters for the batch and returns its outputs.
func run(t *testing.T, be backends.Backend, m *models.Model, b batch,
	fn func(ctx *context.Context, ids, types, mask *Node) []*Node) []output {
	t.Helper()
	// A tensor lives on one backend at a time: bring the weights home before (re)using them on be.
	for v := range m.Ctx.IterVariables() {
		if v.HasValue() {
			if val, err := v.Value(); err == nil {
				if err := val.ToLocal(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := m.Materialize(be); err != nil {
		t.Fatal(err)
	}
	exec, err := context.NewExec(be, m.Ctx, func(ctx *context.Context, ids, types, mask *Node) []*Node {
		return fn(ctx.In(models.ModelScope), ids, types, mask)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Exec(tensors.FromValue(b.ids), tensors.FromValue(b.types), tensors.FromValue(b.mask))
	if err != nil {
		t.Fatal(err)
	}
	res := make([]output, len(out))
	for i, o := range out {
		res[i] = output{tensors.MustCopyFlatData[float32](o), o.Shape().Dimensions}
	}
	return res
}

// compare checks max |got − want| ≤ tolerance, logs it, and returns it.
func compare(t *testing.T, what string, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	worst, at := 0.0, 0
	for i := range got {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if math.IsNaN(d) || d > worst {
			worst, at = d, i
		}
		if math.IsNaN(d) {
			break
		}
	}
	t.Logf("%s: max |Δ| = %.3g over %d values", what, worst, len(got))
	if !(worst <= tolerance) {
		t.Errorf("%s: max |Δ| = %.3g at value %d (got %g, want %g), above %g", what, worst, at, got[at], want[at], tolerance)
	}
	return worst
}

func importHF(t *testing.T, dir string, kind models.Kind) *models.Model {
	t.Helper()
	m, report, err := models.ImportHF(dir, kind, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Missing) > 0 {
		t.Fatalf("%s: parameters missing from the checkpoint: %v", dir, report.Missing)
	}
	return m
}
