// Package teacher is the first step of the method: the cross-encoder teacher that scores (query,
// passage) pairs for the answer key.
//
// [CrossEncoder] runs a cross-encoder model as a score.Scorer; [Load] reads one from a Hugging Face
// folder. [Train] fine-tunes it on BM25 hard negatives with the listwise LCE loss, and [Job] runs the
// whole phase for a collection: training set, tokenizer, model, training with dev evaluation, export
// and a comparison with BM25 (teacher.json).
//
// Two input-side aids make a teacher trained from scratch on a CPU learn what BM25 knows:
// exact-match marking ([MarkExactMatches], [MarkMatches]: MarkedBERT) and the BM25 residual. A
// cross-encoder whose configuration has a positive models.Config.BM25Weight scores a pair as its
// logit plus that weight times the pair's BM25 score: the network learns a residual on top of
// lexical matching (CLEAR's idea, Gao et al., ECIR 2021, applied to a reranker). A tiny model
// trained from scratch on a thousand queries learns which words matter and what paraphrases mean
// long before it learns to count matching words as well as BM25 does; with the BM25 term it only
// has to learn the former ([FitBM25Weight]).
package teacher
