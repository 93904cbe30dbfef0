// Package colbert is the ColBERT student (Khattab & Zaharia, SIGIR 2020): its training from the
// answer key, its encoder, its index and MaxSim search, and the job that runs them for a collection.
//
// The student learns the answer key by pairwise Margin-MSE (Hofstätter et al. 2020,
// arXiv:2010.02666): for a query q and two of its candidates p1, p2 with teacher scores t1, t2, the
// MaxSim margin s(q,p1) − s(q,p2) is regressed on t1 − t2. Only margins are learnt, so the student's
// scores (a sum of up to 32 cosines) and the teacher's (a logit) may live on different scales. The
// hard-label ablation trains on the same (query, positive, negatives) tuples with the teacher's
// scores ignored. [Train] is the loop, [Job] the whole phase.
//
// The frontier recipes ([Recipes], recipes.go) go beyond the static answer key with the options
// Teacher, RefreshEvery, MLMWeight and InBatchWeight: online distillation, where the teacher scores
// each batch inside the training loop, optionally on negatives the student itself retrieves; and
// multi-task training, where masked-language modelling and an in-batch contrastive loss are added to
// distillation; plus listwise KL, a fixed margin and self-distillation.
//
// # Retrieval
//
// Retrieval runs without the graph: a corpus is encoded once into the token embeddings that take
// part in MaxSim, kept in one flat float32 array with per-document offsets (and on disk as one
// file), and queries are scored in plain Go, in parallel — exhaustively over all documents for small
// corpora, or over BM25's top k for larger ones.
//
// # Index file format (IndexFormat)
//
// All integers are little-endian.
//
//	offset  size            content
//	0       8               magic "MCBIDX01"
//	8       8               uint64 J: length of the JSON header
//	16      J               JSON header (IndexMeta): format, dim, dtype, docs, tokens, provenance
//	        8·(docs+1)      uint64 token offsets: document i owns tokens [off[i], off[i+1]); off[0] = 0,
//	                        off[docs] = tokens
//	        Σ(4 + len(id))  document ids: uint32 byte length, then the UTF-8 bytes, in document order
//	        tokens·dim·w    embeddings, token-major (token t's dim values together), w = 4 bytes for
//	                        dtype "float32" (IEEE binary32), 2 for "float16" (IEEE binary16, rounded to
//	                        nearest even; L2-normalised values lose about 3 decimal digits)
//	        32              SHA-256 of every byte before it
//
// The file is written atomically (a reader sees the old index or the new one, never a torn one); a
// truncated or altered file fails the checksum and is reported with the path and the field. Loading
// decodes everything to float32 in memory (4 bytes per value whatever the file's dtype).
package colbert
