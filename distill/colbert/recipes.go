package colbert

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// colbertOnlineScores replaces the teacher scores of a step's tuples (row-major [b, m] in scores)
// by the online teacher's scores of the same (query, passage) pairs; passages are the tuples'
// passage texts in the same order.
func colbertOnlineScores(teacher score.Scorer, exs []colbertTuple, passages []string, scores []float32) error {
	queries := make([]string, 0, len(passages))
	for _, ex := range exs {
		for range ex.docs {
			queries = append(queries, ex.query)
		}
	}
	got, err := teacher.Score(queries, passages)
	if err != nil {
		return fmt.Errorf("colbert: online teacher %s: %w", teacher.Name(), err)
	}
	if len(got) != len(scores) {
		return fmt.Errorf("colbert: online teacher %s returned %d scores for %d pairs", teacher.Name(), len(got), len(scores))
	}
	k := 0
	for _, ex := range exs {
		for _, did := range ex.docs {
			if math.IsNaN(got[k]) || math.IsInf(got[k], 0) {
				return fmt.Errorf("colbert: online teacher %s: score %v of query %q, passage %q is not finite", teacher.Name(), got[k], ex.qid, did)
			}
			scores[k] = float32(got[k])
			k++
		}
	}
	return nil
}

// colbertMLMInputs masks the first passage of each tuple of m passages for the multi-task MLM loss:
// ids and attention mask of the corrupted passages and the labels and weights of the masked
// positions, all [b, L]. Only tokens that take part in MaxSim (no punctuation) are masked.
func colbertMLMInputs(rng *rand.Rand, tk tokenizer.Tokenizer, passages []string, m, docLen int, marker string) ([]any, error) {
	firsts := make([]string, 0, len(passages)/m)
	for i := 0; i < len(passages); i += m {
		firsts = append(firsts, passages[i])
	}
	in, err := models.ColBERTDocInputs(tk, firsts, docLen, marker)
	if err != nil {
		return nil, err
	}
	ids, err := tensors.CopyFlatData[int32](in.IDs)
	if err != nil {
		return nil, err
	}
	keep, err := tensors.CopyFlatData[int32](in.ScoreMask)
	if err != nil {
		return nil, err
	}
	masked, labels, weights := train.MaskTokens(rng, ids, keep, tk.Specials(), tk.VocabSize(), 0.15)
	shape := []int{in.N, in.L}
	return []any{tensors.FromFlatDataAndDimensions(masked, shape...), in.Mask,
		tensors.FromFlatDataAndDimensions(labels, shape...), tensors.FromFlatDataAndDimensions(weights, shape...)}, nil
}

// colbertRefresher swaps the training queries' negatives for the student's own top-ranked passages
// every `every` steps. A refresh at step s is a function of the weights at step s, which a resumed
// run no longer has: each refreshed pool is written to OutDir/refresh/<s>.json and read back.
type colbertRefresher struct {
	every, depth int
	dir          string
	sampler      *colbertSampler
	enc          *Encoder
	positives    datasets.Qrels
	ids          []string // every passage id, sorted
	texts        map[string]string
	original     map[*colbertKeyQuery][]colbertCandidate
	current      int // the step of the pool in use (0: the answer key's)
}

func newColbertRefresher(opts Options, s *colbertSampler, enc *Encoder, positives datasets.Qrels, texts map[string]string) *colbertRefresher {
	r := &colbertRefresher{every: opts.RefreshEvery, depth: opts.RefreshDepth, sampler: s, enc: enc, positives: positives,
		texts: texts, original: map[*colbertKeyQuery][]colbertCandidate{}}
	if opts.OutDir != "" {
		r.dir = filepath.Join(opts.OutDir, "refresh")
	}
	for id := range texts {
		r.ids = append(r.ids, id)
	}
	slices.Sort(r.ids)
	for _, q := range s.queries {
		r.original[q] = slices.Clone(q.cands)
	}
	return r
}

// at makes the pool of step's refresh period current.
func (r *colbertRefresher) at(step int) error {
	want := step / r.every * r.every
	if want == r.current {
		return nil
	}
	if want == 0 {
		for q, cands := range r.original {
			r.setCandidates(q, cands)
		}
		r.current = 0
		return nil
	}
	pool, err := r.load(want)
	if err != nil {
		return err
	}
	if pool == nil {
		if pool, err = r.retrieve(); err != nil {
			return err
		}
		if err := r.save(want, pool); err != nil {
			return err
		}
	}
	for _, q := range r.sampler.queries {
		cands := make([]colbertCandidate, 0, len(q.pos)+len(pool[q.qid]))
		for _, c := range r.original[q] {
			if r.positives[q.qid][c.docID] > 0 {
				cands = append(cands, c)
			}
		}
		for _, did := range pool[q.qid] {
			cands = append(cands, colbertCandidate{docID: did})
		}
		r.setCandidates(q, cands)
	}
	r.current = want
	return nil
}

// setCandidates replaces a query's candidates and recomputes its positives and negatives.
func (r *colbertRefresher) setCandidates(q *colbertKeyQuery, cands []colbertCandidate) {
	q.cands, q.pos, q.neg = cands, q.pos[:0], q.neg[:0]
	for i, c := range cands {
		if r.positives[q.qid][c.docID] > 0 {
			q.pos = append(q.pos, i)
		} else {
			q.neg = append(q.neg, i)
		}
	}
}

// retrieve ranks every passage for every training query with the student's current weights (an
// exhaustive Index) and keeps the top depth passages that are not judged positive.
func (r *colbertRefresher) retrieve() (map[string][]string, error) {
	docs := make([]datasets.Document, len(r.ids))
	for i, id := range r.ids {
		docs[i] = datasets.Document{ID: id, Text: r.texts[id]}
	}
	ix, err := BuildIndex(r.enc, docs)
	if err != nil {
		return nil, err
	}
	qs := make([]string, len(r.sampler.queries))
	for i, q := range r.sampler.queries {
		qs[i] = q.text
	}
	qe, err := r.enc.EncodeQueries(qs)
	if err != nil {
		return nil, err
	}
	pool := make(map[string][]string, len(qs))
	for qi, q := range r.sampler.queries {
		scores := ix.ScoreQuery(qe[qi])
		var order []int
		for i, id := range r.ids {
			if r.positives[q.qid][id] <= 0 {
				order = append(order, i)
			}
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })
		for _, i := range order[:min(r.depth, len(order))] {
			pool[q.qid] = append(pool[q.qid], r.ids[i])
		}
	}
	return pool, nil
}

func (r *colbertRefresher) path(step int) string {
	return filepath.Join(r.dir, fmt.Sprintf("%d.json", step))
}

// load reads the pool of a refresh step; nil when there is none.
func (r *colbertRefresher) load(step int) (map[string][]string, error) {
	if r.dir == "" {
		return nil, nil
	}
	data, err := os.ReadFile(r.path(step))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var pool map[string][]string
	if err := json.Unmarshal(data, &pool); err != nil {
		return nil, fmt.Errorf("%s: invalid JSON: %v", r.path(step), err)
	}
	for qid, ids := range pool {
		for _, id := range ids {
			if _, ok := r.texts[id]; !ok {
				return nil, fmt.Errorf("%s: query %q: passage %q has no text in the collection", r.path(step), qid, id)
			}
		}
	}
	return pool, nil
}

// save writes the pool of a refresh step atomically.
func (r *colbertRefresher) save(step int, pool map[string][]string) error {
	if r.dir == "" {
		return nil
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(pool)
	if err != nil {
		return err
	}
	return datasets.WriteFileAtomic(r.path(step), func(w io.Writer) error {
		_, err := w.Write(append(data, '\n'))
		return err
	})
}

// ColBERT recipes: `mimicry train colbert --recipe`, and the rows the pipeline adds with --frontier.
// Each is compared with RecipeOffline on the same answer key, candidates and number of steps.
const (
	// RecipeOffline is the baseline: pairwise Margin-MSE on the static answer key.
	RecipeOffline = "offline"
	// RecipeKL is listwise KL distillation on tuples of a positive and 3 negatives of the key
	// (ColBERTv2, PyLate), temperature 1.
	RecipeKL = "kl"
	// RecipeFixedMargin needs no teacher: positive–negative margins of the key's tuples are
	// regressed on losses.DefaultFixedMargin, the teacher's scores ignored.
	RecipeFixedMargin = "fixed-margin"
	// RecipeOnline runs the teacher (Job.Teacher) inside the training loop on each batch's
	// pairs, with no answer-key scores; Options.RefreshEvery adds self-refreshed negatives.
	RecipeOnline = "online"
	// RecipeSelf trains a larger student first (twice the layers, offline Margin-MSE), lets it
	// re-annotate the key's pairs, and distils that key into the student.
	RecipeSelf = "self"
	// RecipeMultiTask adds the masked-language-model loss and the in-batch contrastive loss (weights
	// 0.5 each, decaying linearly to 0) to Margin-MSE.
	RecipeMultiTask = "multitask"
)

// Recipes lists the ColBERT recipes, the baseline first.
var Recipes = []string{RecipeOffline, RecipeKL, RecipeFixedMargin, RecipeOnline, RecipeSelf, RecipeMultiTask}

// ApplyRecipe sets the training options of a recipe on o: the loss, the pairing and the multi-task
// weights, leaving options already set alone where the recipe allows a choice (the offline, online
// and self recipes' distillation loss, KL's negatives, the multi-task weights). The online teacher and the self-distillation's larger student
// are Job's to provide.
func ApplyRecipe(recipe string, o *Options) error {
	switch recipe {
	case "", RecipeOffline:
		// Any loss: Margin-MSE by default, or the hard-label ablation.
	case RecipeOnline, RecipeSelf:
		switch o.Loss {
		case "":
			o.Loss = LossMarginMSE
		case LossHardLabels, LossFixedMargin:
			return fmt.Errorf("colbert: recipe %s learns a teacher's scores; loss %q ignores them", recipe, o.Loss)
		}
	case RecipeKL:
		o.Loss, o.Pairing = LossKL, PairingNWay
		o.Negatives = train.OrDefault(o.Negatives, 3)
	case RecipeFixedMargin:
		o.Loss = LossFixedMargin
	case RecipeMultiTask:
		o.Loss = LossMarginMSE
		if o.MLMWeight == 0 && o.InBatchWeight == 0 {
			o.MLMWeight, o.InBatchWeight = 0.5, 0.5
		}
		o.AuxSchedule = cmp.Or(o.AuxSchedule, ScheduleLinearDecay)
	default:
		return fmt.Errorf("colbert: unknown recipe %q (want one of %v)", recipe, Recipes)
	}
	return nil
}

// countingScorer counts the pairs an online teacher scores and the time it takes.
type countingScorer struct {
	score.Scorer
	pairs   int64
	seconds float64
}

func (c *countingScorer) Score(queries, passages []string) ([]float64, error) {
	start := time.Now()
	out, err := c.Scorer.Score(queries, passages)
	c.seconds += time.Since(start).Seconds()
	c.pairs += int64(len(queries))
	return out, err
}

// selfTeacher trains the self-distillation recipe's larger student on key (offline Margin-MSE, in
// OutDir/self_teacher) and has it re-annotate key's pairs into OutDir/self_teacher/answer_key.jsonl,
// which it returns with the larger student's report.
func (j *Job) selfTeacher(key []datasets.ScoredPair, tk tokenizer.Tokenizer, student *models.Config) ([]datasets.ScoredPair, *Report, error) {
	sub := *j
	sub.Recipe, sub.Key, sub.KeyMeta, sub.Tokenizer, sub.Init = RecipeOffline, key, j.KeyMeta, tk, ""
	sub.OutDir = filepath.Join(j.OutDir, "self_teacher")
	big := *student
	if j.SelfTeacherConfig != nil {
		big = *j.SelfTeacherConfig
		big.VocabSize = tk.VocabSize()
	} else {
		big.NumHiddenLayers *= 2
	}
	sub.Config = &big
	enc, rep, err := sub.Run()
	if err != nil {
		return nil, nil, fmt.Errorf("self-distillation, larger student: %w", err)
	}
	enc.Label = fmt.Sprintf("colbert-%dlayers", big.NumHiddenLayers)
	enc.Quiet = true
	out := filepath.Join(sub.OutDir, "answer_key.jsonl")
	if _, err := annotate.Run(annotate.Options{Teacher: enc, Pairs: annotate.KeyPairs(key, negatives.TrainingQueries(j.Collection), score.Texts(j.Collection.Docs)),
		Out: out, Quiet: j.Train.Quiet, Meta: datasets.AnswerKeyMeta{Collection: j.Collection.Name, MaxQueryLength: enc.queryLen(), MaxDocLength: enc.docLen()}}); err != nil {
		return nil, nil, fmt.Errorf("self-distillation, re-annotation: %w", err)
	}
	selfKey, _, err := datasets.LoadAnswerKey(out)
	if err != nil {
		return nil, nil, err
	}
	return selfKey, rep, nil
}
