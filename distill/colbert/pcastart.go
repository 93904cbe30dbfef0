package colbert

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
	"gonum.org/v1/gonum/mat"
)

// How a student's fresh projection (the linear layer from the body's token states to Dim) starts.
const (
	// ProjectionRandom draws it N(0, initializer_range²), as BERT's layers, ColBERT and PyLate do.
	ProjectionRandom = "random"
	// ProjectionPCA sets it to the body's whitened principal directions (PCAProjection).
	ProjectionPCA = "pca"
)

// ProjectionStarts are the accepted values of Job.ProjectionStart.
var ProjectionStarts = []string{ProjectionRandom, ProjectionPCA}

// PCASamplePassages is the number of passages whose token states PCAProjection measures.
const PCASamplePassages = 1000

// PCAProjection returns a projection [dim, H] for a ColBERT student whose body is m's: the top dim
// principal directions of the body's token states over a sample of passages (at most
// PCASamplePassages, drawn with seed; the tokens MaxSim scores, as ColBERTDocInputs marks them), each
// divided by the square root of its variance (whitening), after the states' mean direction is
// projected out. A random projection keeps dot products only approximately
// (Johnson–Lindenstrauss) and keeps the common direction every token state shares (the anisotropy
// of contextual embeddings: Ethayarajh, EMNLP 2019), which crowds all cosines together; removing it
// and whitening the rest is the post-processing of Su et al., "Whitening Sentence Representations
// for Better Semantics and Faster Retrieval" (2021), applied per token. Without a bias the mean
// itself cannot be subtracted, so its direction is removed instead (W = Λ^{-1/2} Vᵀ (I − u uᵀ), u
// the unit mean). The matrix is scaled to the Frobenius norm of a random initialisation
// (initializer_range·√(dim·H)): the embeddings are L2-normalised, so the scale changes nothing
// but the optimiser's relative step.
func PCAProjection(m *models.Model, tk tokenizer.Tokenizer, backend backends.Backend, passages []string, docLen, dim int, seed int64) (*tensors.Tensor, error) {
	h := m.Config.HiddenSize
	if dim > h-1 {
		return nil, fmt.Errorf("colbert: a PCA projection to %d dimensions needs a body wider than that (hidden size %d)", dim, h)
	}
	if len(passages) == 0 {
		return nil, errors.New("colbert: a PCA projection needs passages to measure")
	}
	sample := slices.Clone(passages)
	if len(sample) > PCASamplePassages {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x9ca))
		rng.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
		sample = sample[:PCASamplePassages]
	}
	if err := m.Materialize(backend); err != nil {
		return nil, err
	}
	exec, err := context.NewExec(backend, m.Ctx, func(ctx *context.Context, ids, mask *Node) *Node {
		return models.BertEncoder(ctx.In(models.ModelScope).In("bert"), m.Config, ids, nil, mask)
	})
	if err != nil {
		return nil, err
	}
	exec = exec.SetMaxCache(-1)
	sum := make([]float64, h)
	outer := mat.NewSymDense(h, nil)
	var rows []float64 // a batch's kept token states, one per row
	n := 0
	_, dMarker := m.ColBERTMarkers()
	const batch = 32
	for start := 0; start < len(sample); start += batch {
		in, err := models.ColBERTDocInputs(tk, sample[start:min(start+batch, len(sample))], docLen, dMarker)
		if err != nil {
			return nil, err
		}
		res, err := exec.Exec(in.IDs, in.Mask)
		if err != nil {
			return nil, err
		}
		states, err := models.Float32s(res[0])
		res[0].FinalizeAll()
		if err != nil {
			return nil, err
		}
		keep, err := tensors.CopyFlatData[int32](in.ScoreMask)
		if err != nil {
			return nil, err
		}
		rows = rows[:0]
		for t, k := range keep {
			if k == 0 {
				continue
			}
			for i, x := range states[t*h : (t+1)*h] {
				rows = append(rows, float64(x))
				sum[i] += float64(x)
			}
		}
		if k := len(rows) / h; k > 0 {
			outer.SymRankK(outer, 1, mat.NewDense(k, h, rows).T()) // Σ xxᵀ over the batch's tokens
			n += k
		}
	}
	if n <= h {
		return nil, fmt.Errorf("colbert: a PCA projection needs more token states than dimensions (%d tokens, hidden size %d)", n, h)
	}
	return whitenedProjection(sum, outer, n, dim, m.Config.InitializerRange, m.Config.DTypeOf())
}

// whitenedProjection computes PCAProjection's matrix from n token states' sum and sum of outer
// products.
func whitenedProjection(sum []float64, outer *mat.SymDense, n, dim int, initRange float64, dtype dtypes.DType) (*tensors.Tensor, error) {
	h := len(sum)
	mean := mat.NewVecDense(h, nil)
	for i, s := range sum {
		mean.SetVec(i, s/float64(n))
	}
	cov := mat.NewSymDense(h, nil)
	cov.SymRankOne(outer, -float64(n), mean) // Σ xxᵀ − n·μμᵀ
	cov.ScaleSym(1/float64(n-1), cov)
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, errors.New("colbert: the token states' covariance did not factorise")
	}
	values := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	unit := mat.NewVecDense(h, nil)
	if norm := mat.Norm(mean, 2); norm > 0 {
		unit.ScaleVec(1/norm, mean)
	}
	w := mat.NewDense(dim, h, nil)
	for r := range dim {
		col := h - 1 - r // the r-th largest
		if values[col] <= 0 {
			return nil, fmt.Errorf("colbert: the token states span fewer than %d directions (variance %g)", dim, values[col])
		}
		v := mat.VecDenseCopyOf(vecs.ColView(col))
		v.AddScaledVec(v, -mat.Dot(v, unit), unit) // (I − u uᵀ) v: the mean direction removed
		v.ScaleVec(1/math.Sqrt(values[col]), v)
		w.SetRow(r, v.RawVector().Data)
	}
	w.Scale(initRange*math.Sqrt(float64(dim*h))/mat.Norm(w, 2), w)
	flat := w.RawMatrix().Data
	if dtype == dtypes.Float64 {
		return tensors.FromFlatDataAndDimensions(slices.Clone(flat), dim, h), nil
	}
	f32 := make([]float32, len(flat))
	for i, v := range flat {
		f32[i] = float32(v)
	}
	return tensors.FromFlatDataAndDimensions(f32, dim, h), nil
}
