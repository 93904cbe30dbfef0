package colbert

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"gonum.org/v1/gonum/mat"
)

// States with known axes: variances 9, 4, 1, 0.25, 0.01 along e0…e4 and the mean along e4, the
// least varied axis. The projection to 3 dimensions must take e0, e1, e2, whiten them (equal
// variance after projection), ignore the mean direction and have a random initialisation's norm.
func TestWhitenedProjection(t *testing.T) {
	const h, dim, n, initRange = 5, 3, 20000, 0.02
	sd := []float64{3, 2, 1, 0.5, 0.1}
	rng := rand.New(rand.NewPCG(1, 2))
	sum := make([]float64, h)
	outer := mat.NewSymDense(h, nil)
	states := mat.NewDense(n, h, nil)
	x := make([]float64, h)
	for r := range n {
		for i := range h {
			x[i] = sd[i] * rng.NormFloat64()
		}
		x[4] += 3
		for i := range h {
			sum[i] += x[i]
		}
		outer.SymRankOne(outer, 1, mat.NewVecDense(h, x))
		states.SetRow(r, x)
	}
	w, err := whitenedProjection(sum, outer, n, dim, initRange, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Shape().Dimensions; !slices.Equal(got, []int{dim, h}) {
		t.Fatalf("shape %v, want [%d %d]", got, dim, h)
	}
	flat, err := tensors.CopyFlatData[float64](w)
	if err != nil {
		t.Fatal(err)
	}
	W := mat.NewDense(dim, h, flat)
	if got, want := mat.Norm(W, 2), initRange*math.Sqrt(dim*h); math.Abs(got-want) > 1e-9 {
		t.Errorf("Frobenius norm %v, want a random initialisation's %v", got, want)
	}
	mean := mat.NewVecDense(h, nil)
	for i := range h {
		mean.SetVec(i, sum[i]/n)
	}
	var wm mat.VecDense
	wm.MulVec(W, mean)
	if norm := mat.Norm(&wm, 2); norm > 1e-9 {
		t.Errorf("the mean direction is not removed: |W·μ| = %v", norm)
	}
	for r := range dim {
		if lost := math.Abs(W.At(r, 3)) + math.Abs(W.At(r, 4)); lost > 0.05*mat.Norm(W.RowView(r), 2) {
			t.Errorf("row %d draws on the two least varied axes: %v", r, mat.Row(nil, r, W))
		}
	}
	// Whitened: the projected states have (nearly) equal variance and no correlation.
	var proj mat.Dense
	proj.Mul(states, W.T())
	var cov mat.SymDense
	if err := covarianceOf(&proj, &cov); err != nil {
		t.Fatal(err)
	}
	v0 := cov.At(0, 0)
	for i := range dim {
		for j := range dim {
			want := 0.0
			if i == j {
				want = v0
			}
			if math.Abs(cov.At(i, j)-want) > 0.05*v0 {
				t.Errorf("projected covariance [%d,%d] = %v, want %v (whitened)", i, j, cov.At(i, j), want)
			}
		}
	}
	if _, err := whitenedProjection(make([]float64, h), mat.NewSymDense(h, nil), n, dim, initRange, dtypes.Float32); err == nil ||
		!strings.Contains(err.Error(), "fewer than 3 directions") {
		t.Errorf("constant states: %v", err)
	}
}

// covarianceOf sets cov to the sample covariance of x's rows.
func covarianceOf(x *mat.Dense, cov *mat.SymDense) error {
	r, c := x.Dims()
	mean := make([]float64, c)
	for j := range c {
		mean[j] = mat.Sum(x.ColView(j)) / float64(r)
	}
	centred := mat.DenseCopyOf(x)
	for i := range r {
		for j := range c {
			centred.Set(i, j, centred.At(i, j)-mean[j])
		}
	}
	*cov = *mat.NewSymDense(c, nil)
	cov.SymOuterK(1/float64(r-1), centred.T())
	return nil
}

// On a tiny student: the projection has the model's shape, is finite, is a function of the seed,
// and too wide a projection is an error naming the hidden size.
func TestPCAProjectionOfATinyBody(t *testing.T) {
	f := fixture.ColBERTKey(t)
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	var passages []string
	for _, text := range f.Texts {
		passages = append(passages, text)
	}
	slices.Sort(passages)
	m := fixture.TinyColBERT(t, f.Tk.VocabSize(), 8, 5)
	w, err := PCAProjection(m, f.Tk, be, passages, 48, 8, 7)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Shape().Dimensions; !slices.Equal(got, []int{8, m.Config.HiddenSize}) {
		t.Fatalf("shape %v", got)
	}
	a, err := tensors.CopyFlatData[float32](w)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range a {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("weight %d is %v", i, v)
		}
	}
	if err := m.SetParam("linear.weight", w); err != nil {
		t.Fatalf("the projection does not fit the model: %v", err)
	}
	again, err := PCAProjection(m, f.Tk, be, passages, 48, 8, 7)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := tensors.CopyFlatData[float32](again); !slices.Equal(a, b) {
		t.Error("the same passages and seed gave another projection")
	}
	if _, err := PCAProjection(m, f.Tk, be, passages, 48, m.Config.HiddenSize, 7); err == nil || !strings.Contains(err.Error(), "hidden size 32") {
		t.Errorf("projection as wide as the body: %v", err)
	}
	if err := (&Job{ProjectionStart: ProjectionPCA}).startProjection(m, f.Tk); err == nil || !strings.Contains(err.Error(), "--init") {
		t.Errorf("PCA start without a pretrained body: %v", err)
	}
	if err := (&Job{ProjectionStart: "eigen"}).startProjection(m, f.Tk); err == nil || !strings.Contains(err.Error(), "random, pca") {
		t.Errorf("unknown start: %v", err)
	}
}

// TestPCAStartSkippedOnResume: a job that resumes from a checkpoint keeps the projection the
// checkpoint holds; the PCA start is not measured again (only to be overwritten).
func TestPCAStartSkippedOnResume(t *testing.T) {
	m := &models.Model{Config: &models.Config{HiddenSize: 8}, ColBERTDim: 4, Fresh: []string{"linear.weight"}}
	j := &Job{ProjectionStart: ProjectionPCA}
	j.Init, j.OutDir, j.Collection = "a-pretrained-body", t.TempDir(), &datasets.Collection{Name: "no passages"}
	// Without passages the measurement fails: a nil error below means it was not attempted.
	if err := j.startProjection(m, nil); err == nil || !strings.Contains(err.Error(), "passages") {
		t.Fatalf("a fresh run: %v, want the measurement's error about passages", err)
	}
	dir := train.CheckpointDir(j.OutDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "state-00000010.safetensors"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if !models.HasCheckpoint(dir) {
		t.Fatal("the test's checkpoint is not recognised")
	}
	if err := j.startProjection(m, nil); err != nil {
		t.Fatalf("a resumed run measured the PCA start: %v", err)
	}
}
