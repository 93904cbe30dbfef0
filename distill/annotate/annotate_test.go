package annotate

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// slowScorer delays every Score call (so that a kill lands mid-run); same name, same scores.
type slowScorer struct {
	score.Scorer
	delay time.Duration
}

func (s slowScorer) Score(q, p []string) ([]float64, error) {
	time.Sleep(s.delay)
	return s.Scorer.Score(q, p)
}

// failingScorer fails on call number failAt (1-based), or returns NaN for the pair of passage nanPID.
type failingScorer struct {
	score.Scorer
	failAt, calls int
	nanQuery      string // the pair (nanQuery, nanPassage) gets NaN
	nanPassage    string
}

func (s *failingScorer) Score(q, p []string) ([]float64, error) {
	s.calls++
	if s.calls == s.failAt {
		return nil, errors.New("teacher crashed")
	}
	out, err := s.Scorer.Score(q, p)
	for i := range p {
		if s.nanQuery != "" && q[i] == s.nanQuery && p[i] == s.nanPassage {
			out[i] = math.NaN()
		}
	}
	return out, err
}

// bm25Job is an annotation of the synthetic evaluation queries' top k with a BM25 teacher.
func bm25Job(t testing.TB, out string, queries, k, chunk int) Options {
	s := fixture.Synthetic(t)
	return Options{
		Teacher:   &score.BM25{Index: s.Ix},
		Pairs:     BM25Pairs(s.Ix, s.C.Queries[:queries], s.Texts, k),
		Out:       out,
		Meta:      datasets.AnswerKeyMeta{Collection: s.C.Name, Extra: map[string]string{"note": "test"}},
		ChunkSize: chunk,
		Quiet:     true,
	}
}

func loadKey(t testing.TB, path string) ([]datasets.ScoredPair, *datasets.AnswerKeyMeta) {
	t.Helper()
	pairs, meta, err := datasets.LoadAnswerKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta == nil {
		t.Fatalf("%s has no sidecar", path)
	}
	return pairs, meta
}

// sameKey fails unless the two keys have the same rows (order and scores bit for bit) and metadata
// (but for the creation time), and no pair twice.
func sameKey(t *testing.T, got, want string) {
	t.Helper()
	gp, gm := loadKey(t, got)
	wp, wm := loadKey(t, want)
	if len(gp) != len(wp) {
		t.Fatalf("%s has %d pairs, %s %d", got, len(gp), want, len(wp))
	}
	for i := range gp {
		if gp[i] != wp[i] || math.Float64bits(gp[i].Score) != math.Float64bits(wp[i].Score) {
			t.Fatalf("pair %d: %+v, uninterrupted run %+v", i+1, gp[i], wp[i])
		}
	}
	seen := map[[2]string]bool{}
	for _, p := range gp {
		k := [2]string{p.QueryID, p.DocID}
		if seen[k] {
			t.Fatalf("pair %v appears twice", k)
		}
		seen[k] = true
	}
	gm.Created, wm.Created = "", ""
	if !reflect.DeepEqual(gm, wm) {
		t.Fatalf("metadata\n%+v\nwant\n%+v", gm, wm)
	}
	if _, err := os.Stat(got + ".parts"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s.parts left behind (%v)", got, err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(filepath.Dir(got), ".*tmp-*"))
	if len(leftovers) > 0 {
		t.Fatalf("temporary files left behind: %v", leftovers)
	}
}

const killHelperEnv = "MIMICRY_ANNOTATE_KILL_OUT"

// killJob is the job of TestAnnotateSurvivesSIGKILL: about 1,600 pairs in 25 chunks of 64.
func killJob(t testing.TB, out string, delay time.Duration) Options {
	o := bm25Job(t, out, 200, 8, 64)
	if delay > 0 {
		o.Teacher = slowScorer{o.Teacher, delay}
	}
	return o
}

// TestAnnotateKillHelper is the child process of TestAnnotateSurvivesSIGKILL; it does nothing unless
// MIMICRY_ANNOTATE_KILL_OUT is set.
func TestAnnotateKillHelper(t *testing.T) {
	out := os.Getenv(killHelperEnv)
	if out == "" {
		t.Skip("child process of TestAnnotateSurvivesSIGKILL")
	}
	if _, err := Run(killJob(t, out, 40*time.Millisecond)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	os.Exit(0)
}

// TestAnnotateSurvivesSIGKILL kills annotating processes with SIGKILL at several moments, reruns the
// job to completion and compares with an uninterrupted run: same rows, same scores, each pair once.
func TestAnnotateSurvivesSIGKILL(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref", "key.jsonl")
	os.MkdirAll(filepath.Dir(ref), 0o755)
	refSum, err := Run(killJob(t, ref, 0))
	if err != nil {
		t.Fatal(err)
	}
	if refSum.Chunks != 25 || refSum.Pairs <= 24*64 {
		t.Fatalf("reference run: %+v", refSum)
	}
	rowsOf := func(chunk string) int { // the pairs chunk-NNNNNN.jsonl must hold
		var c int
		fmt.Sscanf(filepath.Base(chunk), "chunk-%d.jsonl", &c)
		return int(min(64, refSum.Pairs-int64(c)*64))
	}
	out := filepath.Join(dir, "run", "key.jsonl")
	os.MkdirAll(filepath.Dir(out), 0o755)
	parts := out + ".parts"
	chunks := func() []string {
		m, _ := filepath.Glob(filepath.Join(parts, "chunk-*.jsonl"))
		return m
	}
	// Kill once at least `after` chunk files exist (plus a little jitter), then check that every chunk
	// file on disk is complete.
	killAt := func(after int, jitter time.Duration) (killed bool) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAnnotateKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), killHelperEnv+"="+out, "MIMICRY_PROGRESS=0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.After(60 * time.Second)
	wait:
		for len(chunks()) < after {
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("child failed: %v\n%s", err, stderr.String())
				}
				return false
			case <-deadline:
				cmd.Process.Kill()
				t.Fatal("no progress in 60 s")
			case <-time.After(2 * time.Millisecond):
				continue wait
			}
		}
		time.Sleep(jitter)
		cmd.Process.Signal(os.Kill) // SIGKILL
		err := <-exited
		if err == nil {
			return false // finished first
		}
		for _, c := range chunks() {
			pairs, _, err := datasets.LoadAnswerKey(c)
			if err != nil || len(pairs) != rowsOf(c) {
				t.Fatalf("after the kill, %s holds %d pairs (%v): not atomic", c, len(pairs), err)
			}
		}
		return true
	}
	if !killAt(1, 0) {
		t.Fatal("the child finished before the first kill")
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the key exists after a kill mid-run")
	}
	first := len(chunks())
	killAt(first+3, 17*time.Millisecond)
	killAt(len(chunks())+5, 29*time.Millisecond)
	before := len(chunks())
	sum, err := Run(killJob(t, out, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed after %d, then %d chunks; rerun: %s", first, before, sum)
	if sum.ChunksResumed < first || sum.Scored >= sum.Pairs-int64(first-1)*64 || sum.Pairs != refSum.Pairs || sum.Chunks != 25 {
		t.Fatalf("summary %+v", sum)
	}
	sameKey(t, out, ref)

	// A rerun after completion does nothing.
	again, err := Run(killJob(t, out, 0))
	if err != nil || !again.AlreadyComplete || again.Scored != 0 {
		t.Fatalf("rerun after completion: %+v %v", again, err)
	}
	sameKey(t, out, ref)
}

// tinyTeacher is a 1-layer, H=32 cross-encoder (random weights; deterministic).
func tinyTeacher(t testing.TB) *teacher.CrossEncoder {
	t.Helper()
	tk := tokenizer.Default()
	cfg, err := models.NewConfig(models.PresetTiny, tk.VocabSize())
	if err != nil {
		t.Fatal(err)
	}
	cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumAttentionHeads, cfg.IntermediateSize = 32, 1, 2, 64
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	be, err := backend.Default()
	if err != nil {
		t.Fatal(err)
	}
	return &teacher.CrossEncoder{Model: m, Tokenizer: tk, Backend: be, MaxLen: 64, BatchSize: 8, Label: "tiny"}
}

// TestAnnotateResumesAfterTeacherError: a teacher error stops the run with no key written; the rerun
// keeps the chunks already written, scores the rest, and the key equals an uninterrupted run's, to the
// bit, with a cross-encoder teacher.
func TestAnnotateResumesAfterTeacherError(t *testing.T) {
	dir := t.TempDir()
	ce := tinyTeacher(t)
	job := func(out string, teacher score.Scorer) Options {
		o := bm25Job(t, out, 30, 4, 16) // 120 pairs, 8 chunks
		o.Teacher = teacher
		o.Meta.Tokenizer, o.Meta.MaxDocLength = "bert-base-uncased", 64
		return o
	}
	ref := filepath.Join(dir, "ref.jsonl")
	if _, err := Run(job(ref, ce)); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "key.jsonl")
	_, err := Run(job(out, &failingScorer{Scorer: ce, failAt: 4}))
	if err == nil || !strings.Contains(err.Error(), "teacher crashed") || !strings.Contains(err.Error(), "tiny") {
		t.Fatalf("error %v", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a key was written by a failed run")
	}
	m, _ := filepath.Glob(filepath.Join(out+".parts", "chunk-*.jsonl"))
	if len(m) != 3 {
		t.Fatalf("%d chunks written before the failure, want 3", len(m))
	}
	// A damaged chunk (edited by hand) is scored again, not trusted.
	b, _ := os.ReadFile(m[1])
	os.WriteFile(m[1], b[:len(b)/2], 0o644)

	// Parts of another run are refused: here the chunk size changed.
	o := job(out, ce)
	o.ChunkSize = 32
	if _, err := Run(o); err == nil || !strings.Contains(err.Error(), "another run") {
		t.Fatalf("other run's parts: %v", err)
	}

	fresh := tinyTeacher(t) // a new process would have a fresh model too
	sum, err := Run(job(out, fresh))
	if err != nil {
		t.Fatal(err)
	}
	if sum.ChunksResumed != 2 || sum.Scored != 120-32 || sum.Pairs != 120 {
		t.Fatalf("summary %+v", sum)
	}
	sameKey(t, out, ref)
	_, meta := loadKey(t, out)
	if meta.Teacher != "tiny" || meta.Tokenizer != "bert-base-uncased" || meta.MaxDocLength != 64 || meta.Collection != "synthetic:7" ||
		meta.Extra["chunk_size"] != "16" || len(meta.Extra["pairs_sha256"]) != 64 || meta.Extra["note"] != "test" || meta.Created == "" {
		t.Fatalf("meta %+v", meta)
	}
}

// TestAnnotateNonFiniteScore: a NaN from the teacher is an error naming the pair; its chunk is not
// written and there is no key.
func TestAnnotateNonFiniteScore(t *testing.T) {
	dir := t.TempDir()
	o := bm25Job(t, filepath.Join(dir, "key.jsonl"), 10, 5, 16)
	var victim Pair
	n := 0
	o.Pairs(func(p Pair) error {
		if n == 20 {
			victim = p
		}
		n++
		return nil
	})
	o.Teacher = &failingScorer{Scorer: o.Teacher, nanQuery: victim.Query, nanPassage: victim.Passage}
	_, err := Run(o)
	if err == nil || !strings.Contains(err.Error(), victim.QueryID) || !strings.Contains(err.Error(), victim.DocID) || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("error %v, want one naming %s / %s", err, victim.QueryID, victim.DocID)
	}
	if _, err := os.Stat(o.Out); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("key written")
	}
	m, _ := filepath.Glob(filepath.Join(o.Out+".parts", "chunk-*.jsonl"))
	if len(m) != 1 {
		t.Fatalf("chunks on disk: %v, want only chunk 0", m)
	}
}

// TestAnnotateShardsAndMerge: three shards merged give the rows of an unsharded run, in its order;
// incompatible or overlapping keys are refused.
func TestAnnotateShardsAndMerge(t *testing.T) {
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.jsonl")
	if _, err := Run(bm25Job(t, ref, 40, 6, 25)); err != nil { // 240 pairs, 10 chunks
		t.Fatal(err)
	}
	var shards []string
	total := int64(0)
	for i := range 3 {
		o := bm25Job(t, filepath.Join(dir, fmt.Sprintf("shard%d.jsonl", i)), 40, 6, 25)
		o.Shard = Shard{Index: i, Count: 3}
		sum, err := Run(o)
		if err != nil {
			t.Fatal(err)
		}
		if want := []int{4, 3, 3}[i]; sum.Chunks != want {
			t.Fatalf("shard %d has %d chunks, want %d", i, sum.Chunks, want)
		}
		total += sum.Pairs
		shards = append(shards, o.Out)
	}
	if total != 240 {
		t.Fatalf("shards hold %d pairs, want 240", total)
	}
	merged := filepath.Join(dir, "merged.jsonl")
	// Given in any order.
	if err := Merge(merged, []string{shards[2], shards[0], shards[1]}); err != nil {
		t.Fatal(err)
	}
	mp, mm := loadKey(t, merged)
	rp, rm := loadKey(t, ref)
	if !reflect.DeepEqual(mp, rp) {
		t.Fatal("merged shards differ from the unsharded run")
	}
	delete(rm.Extra, "run_sha256")
	mm.Created, rm.Created = "", ""
	if !reflect.DeepEqual(mm, rm) {
		t.Fatalf("merged meta %+v, want %+v", mm, rm)
	}
	// Two shards of three: recorded.
	part := filepath.Join(dir, "part.jsonl")
	if err := Merge(part, []string{shards[0], shards[2]}); err != nil {
		t.Fatal(err)
	}
	if _, m := loadKey(t, part); m.Extra["shards"] != "0,2/3" || m.Pairs != 90+75 {
		t.Fatalf("partial merge meta %+v", m)
	}

	bad := func(name string, pairs []datasets.ScoredPair, edit func(*datasets.AnswerKeyMeta)) string {
		_, meta := loadKey(t, ref)
		edit(meta)
		p := filepath.Join(dir, name)
		if err := datasets.WriteAnswerKey(p, pairs, *meta); err != nil {
			t.Fatal(err)
		}
		return p
	}
	noShard := func(m *datasets.AnswerKeyMeta) { delete(m.Extra, "shard") }
	a := bad("a.jsonl", rp[:10], noShard)
	b := bad("b.jsonl", rp[9:20], noShard)
	other := bad("other.jsonl", rp[30:40], func(m *datasets.AnswerKeyMeta) { m.Teacher = "someone else" })
	for _, tc := range []struct {
		inputs []string
		want   string
	}{
		{[]string{a, b}, fmt.Sprintf("pair (qid %q, pid %q) appears twice: %s pair 10 and %s pair 1", rp[9].QueryID, rp[9].DocID, a, b)},
		{[]string{a, other}, `teacher "bm25(k1=0.9,b=0.4)" vs "someone else"`},
		{[]string{shards[0], shards[0]}, "both shard 0/3"},
		{[]string{a, filepath.Join(dir, "missing.jsonl")}, "missing.jsonl"},
	} {
		out := filepath.Join(dir, "bad-merge.jsonl")
		err := Merge(out, tc.inputs)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("merge %v: %v, want an error containing %q", tc.inputs, err, tc.want)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("merge %v left %s", tc.inputs, out)
		}
	}
	// Concatenation of keys that are not shards, in the order given.
	c := bad("c.jsonl", rp[20:25], noShard)
	cat := filepath.Join(dir, "cat.jsonl")
	if err := Merge(cat, []string{c, a}); err != nil {
		t.Fatal(err)
	}
	if got, _ := loadKey(t, cat); !reflect.DeepEqual(got, slices.Concat(rp[20:25], rp[:10])) {
		t.Fatalf("concatenation %v", got)
	}
	// A truncated input (fewer rows than its sidecar says) is refused.
	body, _ := os.ReadFile(c)
	os.WriteFile(c, body[:strings.LastIndex(strings.TrimSuffix(string(body), "\n"), "\n")+1], 0o644)
	if err := Merge(cat, []string{c, a}); err == nil || !strings.Contains(err.Error(), "holds 4 pairs but") {
		t.Errorf("truncated input: %v", err)
	}
}

func TestParseShard(t *testing.T) {
	if s, err := ParseShard("2/5"); err != nil || s != (Shard{2, 5}) || s.String() != "2/5" {
		t.Fatalf("2/5: %v %v", s, err)
	}
	for _, bad := range []string{"5/5", "-1/3", "1", "a/b", "1/0"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func collect(t *testing.T, src PairSource) ([]Pair, error) {
	t.Helper()
	var out []Pair
	err := src(func(p Pair) error { out = append(out, p); return nil })
	return out, err
}

func TestPairSources(t *testing.T) {
	dir := t.TempDir()
	texts := map[string]string{"d1": "one", "d2": "two", "d3": "three"}
	queries := map[string]string{"q1": "first", "q2": "second"}
	idsOf := func(ps []Pair) string {
		var s []string
		for _, p := range ps {
			s = append(s, p.QueryID+"/"+p.DocID+"="+p.Query+"|"+p.Passage)
		}
		return strings.Join(s, " ")
	}

	neg := writeFile(t, filepath.Join(dir, "neg.jsonl"),
		`{"split":"train","qid":"q1","query":"first","positives":["d1"],"negatives":["d2","d3"],"positive_texts":["ONE"],"negative_texts":["TWO","THREE"]}`+"\n\n"+
			`{"split":"dev","qid":"q2","query":"second","positives":["d3"],"negatives":[]}`+"\r\n")
	ps, err := collect(t, NegativesPairs(neg, texts))
	if err != nil {
		t.Fatal(err)
	}
	if got := idsOf(ps); got != "q1/d1=first|ONE q1/d2=first|TWO q1/d3=first|THREE q2/d3=second|three" {
		t.Fatalf("negatives: %s", got)
	}
	if ps[3].Origin != neg+":3" {
		t.Fatalf("origin %q", ps[3].Origin)
	}
	_, err = collect(t, NegativesPairs(neg, nil))
	if err == nil || !strings.Contains(err.Error(), neg+":3") || !strings.Contains(err.Error(), `"d3" has no text`) {
		t.Fatalf("missing text: %v", err)
	}
	badNeg := writeFile(t, filepath.Join(dir, "bad.jsonl"), `{"qid":"q1","query":"x","positives":["d1"],"negatives":[],"positive_texts":[]}`+"\n")
	if _, err := collect(t, NegativesPairs(badNeg, texts)); err == nil || !strings.Contains(err.Error(), badNeg+":1") {
		t.Fatalf("mismatched texts: %v", err)
	}

	kd := writeFile(t, filepath.Join(dir, "kd.jsonl"), `{"query_id":"q2","document_ids":["d2","d1"],"scores":[1,2]}`+"\n")
	ps, err = collect(t, KDPairs(kd, queries, texts))
	if err != nil || idsOf(ps) != "q2/d2=second|two q2/d1=second|one" {
		t.Fatalf("kd: %s %v", idsOf(ps), err)
	}
	if _, err := collect(t, KDPairs(kd, map[string]string{}, texts)); err == nil || !strings.Contains(err.Error(), "example 1") {
		t.Fatalf("kd unknown query: %v", err)
	}

	cand := writeFile(t, filepath.Join(dir, "cand.tsv"), "q1\td2\nq1\td2\nq1 Q0 d1 2 3.5 run\n\nq2\td3\n")
	ps, err = collect(t, CandidatePairs(cand, queries, texts))
	if err != nil || idsOf(ps) != "q1/d2=first|two q1/d2=first|two q1/d1=first|one q2/d3=second|three" {
		t.Fatalf("candidates: %s %v", idsOf(ps), err)
	}
	// Repeated pairs are skipped by Run; a query whose lines are not together is refused.
	out := filepath.Join(dir, "key.jsonl")
	sum, err := Run(Options{Teacher: &score.BM25{}, Pairs: CandidatePairs(cand, queries, texts), Out: out, Quiet: true})
	if err != nil || sum.Pairs != 3 || sum.Duplicates != 1 {
		t.Fatalf("annotate candidates: %+v %v", sum, err)
	}
	split := writeFile(t, filepath.Join(dir, "split.tsv"), "q1\td2\nq2\td3\nq1\td1\n")
	_, err = Run(Options{Teacher: &score.BM25{}, Pairs: CandidatePairs(split, queries, texts), Out: filepath.Join(dir, "k2.jsonl"), Quiet: true})
	if err == nil || !strings.Contains(err.Error(), split+":3") || !strings.Contains(err.Error(), "together") {
		t.Fatalf("split query: %v", err)
	}
	for content, want := range map[string]string{"q1\td9\n": `"d9" has no text`, "q1 d1 extra\n": ":1: want", "q7\td1\n": `"q7" has no text`} {
		p := writeFile(t, filepath.Join(dir, "c.tsv"), content)
		if _, err := collect(t, CandidatePairs(p, queries, texts)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", content, err, want)
		}
	}
	if _, err := Run(Options{Teacher: &score.BM25{}, Pairs: SlicePairs(nil), Out: filepath.Join(dir, "empty.jsonl")}); err == nil {
		t.Fatal("empty source accepted")
	}
}

// TestBM25Scorer: over an index, the scorer reproduces the index's search scores exactly; per pair,
// the formula by hand.
func TestBM25Scorer(t *testing.T) {
	s := fixture.Synthetic(t)
	q := s.C.Queries[3]
	hits := s.Ix.Search(q.Text, 10)
	var qs, ps []string
	for _, h := range hits {
		qs, ps = append(qs, q.Text), append(ps, s.Texts[h.DocID])
	}
	scores, err := (&score.BM25{Index: s.Ix}).Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hits {
		if scores[i] != h.Score {
			t.Fatalf("hit %d (%s): scorer %v, search %v", i, h.DocID, scores[i], h.Score)
		}
	}
	got, err := (&score.BM25{}).Score([]string{"the wings flow", "nothing"}, []string{"Wing wing, and flow.", "wing"})
	if err != nil {
		t.Fatal(err)
	}
	want := 2/(2+0.9) + 1/(1+0.9) // "wing" twice, "flow" once; "the"/"and" are stop words
	if math.Abs(got[0]-want) > 1e-15 || got[1] != 0 {
		t.Fatalf("per-pair scores %v, want [%v 0]", got, want)
	}
	if _, err := (&score.BM25{}).Score([]string{"a"}, nil); err == nil {
		t.Fatal("mismatched lengths accepted")
	}
}
