// Package distill is Mimicry's method: a cross-encoder teacher scores (query, passage) pairs once,
// offline, into an answer key, and fast students learn from those soft labels. It holds no code;
// each step of the method is a package of its own:
//
//	step                                              package
//	score pairs: the Scorer interface, BM25, reranking distill/score
//	1. the teacher: cross-encoder, marking, residual,  distill/teacher
//	   fine-tuning on BM25 hard negatives (teacher.Job)
//	2. the answer key: pair sources, exactly-once      distill/annotate
//	   annotation, shards and merge, inspection
//	3. ColBERT: Margin-MSE (and the hard-label         distill/colbert
//	   ablation), encoder, index, MaxSim search, job
//	4. SPLADE: score MSE + FLOPS/L1, sparse encoder,   distill/splade
//	   inverted index, λ sweep, job
//	5. beyond the answer key: listwise KL, fixed       distill/colbert (recipes.go)
//	   margin, online, self- and multi-task training
//	the training loop, AdamW, MLM warm-up, and what    distill/train
//	   every job shares (train.Setup)
//	measures, significance, correlation                distill/eval
//	all of it, resumable, for one collection           distill/pipeline
//	report.json, report.md, figures                    distill/report
//
// The losses are in package losses, the models (BERT, heads, tokenizer, checkpoints) in models, and
// the collections, formats, BM25 and hard negatives in datasets.
package distill
