// Package annotate writes the answer key: the teacher scores every (query, passage) pair of a
// source once, offline, and the scores become the answer key (datasets.CreateAnswerKey) that the
// students learn from. See [Run] for how a run survives being killed, [Merge] for sharded runs, and
// [FindTeacher] for how a student finds the teacher (and its tokenizer) that wrote a key.
//
// Pair sources ([PairSource]) read pairs from a `mimicry negatives` file, a PyLate KD file, a
// candidates file, an answer key or BM25's top k.
//
// Inspecting an answer key ([ScoreDistributions], [Margins], [TeacherAsReranker]) is what the
// notebooks plot before distilling it. A pair is positive when the judgements give it relevance > 0,
// negative otherwise (judged non-relevant or unjudged — most of an answer key's pairs are unjudged
// BM25 candidates or mined hard negatives).
package annotate
