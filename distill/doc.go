// Package distill is Mimicry's method: train the cross-encoder teacher on hard negatives, annotate
// the answer key once, offline, and distil it into ColBERT (Margin-MSE) and SPLADE (MSE + FLOPS)
// students; retrieve with them and evaluate against BM25 and the teacher.
//
// The training loop itself is in package distill/train, evaluation measures in distill/eval.
package distill
