// Package losses holds the training losses of Mimicry: the distillation losses that let a cross-encoder
// teacher's scores (the "answer key") teach ColBERT and SPLADE students, the hard-label losses used as
// ablations and for the teacher itself, and the sparsity regularisers of SPLADE.
//
// Each loss lives in its own file, with its formula and the paper it comes from in its doc comment, in the
// manner of sentence-transformers' losses package. The losses are plain functions that build GoMLX graph
// nodes, in the style of GoMLX's pkg/ml/layers: call them inside a graph function (for instance the loss
// function of a train.Trainer, or a function given to graph.NewExec).
//
// # Conventions
//
//   - Inputs are *graph.Node values (package github.com/gomlx/gomlx/pkg/core/graph) of one graph. All the
//     inputs of a loss must have the same dtype, float32 or float64, and the result has that dtype.
//   - Every loss returns a scalar: the mean over the batch, unless its documentation says otherwise.
//   - Scores are either [B] (one score per query, for pairwise losses that take the positive and the
//     negative scores as separate tensors) or [B, 1+n] (one row per query, n-way losses), where column 0 holds
//     the positive document's score and columns 1..n the n negatives' scores.
//   - SPLADE term weights are [B, V] (one row per query or document, one column per vocabulary term).
//   - Teacher scores and labels are targets: each loss wraps them in graph.StopGradient, so no gradient
//     flows into them, even when they are computed in the same graph.
//   - Shapes are never broadcast implicitly: where a loss takes several tensors of the same role, they must
//     have exactly the same shape.
//   - Misuse (wrong rank, mismatched shapes, a non-float dtype, a non-positive temperature) panics while the
//     graph is built, as GoMLX's own graph functions do; the panic value is an error whose message starts with
//     "losses.<Function>:". graph.Exec and the trainers turn such panics into returned errors.
//
// All losses are differentiable with the operations SimpleGo (GoMLX's pure-Go backend) supports: columns are
// selected with masks rather than slices, so their gradients need neither Pad nor DynamicSlice.
//
// # Which loss for what
//
//	Loss                     Labels                     Typical use
//	MarginMSE(+Multi, …)     teacher scores             ColBERT / dense students (Hofstätter et al. 2020)
//	KLDivergence             teacher scores             ColBERTv2 / PyLate, SPLADE (listwise)
//	KLPlusMarginMSE          teacher scores             SPLADE-v3
//	MSE                      teacher scores             SPLADE pointwise score regression
//	LocalizedContrastive     hard (column 0 relevant)   hard-label ablation, rerankers (LCE)
//	BinaryCrossEntropy       hard or soft 0/1 labels    monoBERT-style cross-encoder training
//	PairwiseHinge            hard (pos > neg)           classic pairwise ranking ablation
//	FixedMarginMSE           none (fixed margin)        teacher-free margin ablation
//	InfoNCE                  in-batch (diagonal)        dense contrastive pre-training, SimCSE
//	FLOPS, L1                none (regularisers)        SPLADE sparsity, weighted by SparsityWeight
//	MaskedLM                 masked token ids           MLM warm-up, multi-task ColBERT
//
// [Standardize] and [MinMaxNormalize] transform scores before a loss (teacher-score standardisation;
// PyLate's min-max normalisation of student scores), and [SparsityWeight] is SPLADE's quadratic warm-up of the
// regularisation weight, a plain Go function ([SparsityWeightNode] computes it inside a training graph).
package losses
