package teacher

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/datasets/negatives"
	"github.com/mimicry-ir/mimicry/distill/internal/fixture"
	"github.com/mimicry-ir/mimicry/distill/train"
	"github.com/mimicry-ir/mimicry/models"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func TestMarkExactMatches(t *testing.T) {
	q, p := MarkExactMatches("How many people live in Port Kelda?",
		"Roughly 340 thousand inhabitants are registered in Port Kelda. Most people who live  in Port-Kelda work in fishing.")
	const m = MatchMarker + " "
	// "in" is a stop word: it never matches. "Kelda." and "Kelda?" match through the analyser, and
	// "Port-Kelda" (two terms) through either of them. The double space is normalised.
	if want := "How many " + m + "people " + m + "live in " + m + "Port " + m + "Kelda?"; q != want {
		t.Errorf("query\n got %q\nwant %q", q, want)
	}
	if want := "Roughly 340 thousand inhabitants are registered in " + m + "Port " + m + "Kelda. Most " + m + "people who " + m + "live in " + m + "Port-Kelda work in fishing."; p != want {
		t.Errorf("passage\n got %q\nwant %q", p, want)
	}
	// Stemming: "lives" matches "live"; nothing shared, nothing marked.
	if q, p := MarkExactMatches("where does it live", "It lives in caves."); q != "where does it "+m+"live" || p != "It "+m+"lives in caves." {
		t.Errorf("stemmed match: %q / %q", q, p)
	}
	if q, p := MarkExactMatches("weather in Varn", "The river floods every spring."); strings.Contains(q+p, MatchMarker) {
		t.Errorf("marked without a shared word: %q / %q", q, p)
	}
}

func TestMarkingTokenizerEncodesTheMarkerAsOneToken(t *testing.T) {
	f := fixture.ColBERTKey(t)
	id, ok := f.Tk.TokenToID(MatchMarker)
	if !ok {
		t.Fatalf("the trained vocabulary lacks %s", MatchMarker)
	}
	common, ok := f.Tk.TokenToID(CommonMatchMarker)
	if !ok {
		t.Fatalf("the trained vocabulary lacks %s", CommonMatchMarker)
	}
	mt := markingTokenizer{Tokenizer: f.Tk, markers: []string{MatchMarker, CommonMatchMarker}, ids: []int{id, common}}
	got := mt.Encode(MatchMarker + " port kelda " + CommonMatchMarker + " vole " + MatchMarker + " eats")
	want := slices.Concat([]int{id}, f.Tk.Encode("port kelda"), []int{common}, f.Tk.Encode("vole"), []int{id}, f.Tk.Encode("eats"))
	if !slices.Equal(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	if plain := f.Tk.Encode(MatchMarker); len(plain) == 1 && plain[0] == id {
		t.Log("the underlying tokenizer already keeps the marker whole")
	}
}

func TestCrossEncoderMarksPairsWhenTheModelSaysSo(t *testing.T) {
	f := fixture.ColBERTKey(t)
	cfg := fixture.TinyConfig(f.Tk.VocabSize())
	cfg.MarkExactMatches = true
	m, err := models.New(models.KindCrossEncoder, cfg, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	be := fixture.Backend(t)
	qs := []string{"how many people live in port kelda", "what does the spotted vole eat"}
	ps := []string{"Most people who live in Port Kelda work in fishing.", "The spotted vole eats seeds."}
	marked, err := (&CrossEncoder{Model: m, Tokenizer: f.Tk, Backend: be, MaxLen: 64}).Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	// The same weights without the flag, fed the marked texts by hand, give the same scores; fed the
	// plain texts, other scores.
	plainCfg := *cfg
	plainCfg.MarkExactMatches = false
	plain := &models.Model{Kind: m.Kind, Config: &plainCfg, Ctx: m.Ctx}
	id, _ := f.Tk.TokenToID(MatchMarker)
	mq, mp := make([]string, len(qs)), make([]string, len(ps))
	for i := range qs {
		mq[i], mp[i] = MarkExactMatches(qs[i], ps[i])
	}
	byHand, err := (&CrossEncoder{Model: plain, Tokenizer: markingTokenizer{f.Tk, []string{MatchMarker}, []int{id}}, Backend: be, MaxLen: 64}).Score(mq, mp)
	if err != nil {
		t.Fatal(err)
	}
	unmarked, err := (&CrossEncoder{Model: plain, Tokenizer: f.Tk, Backend: be, MaxLen: 64}).Score(qs, ps)
	if err != nil {
		t.Fatal(err)
	}
	for i := range qs {
		if math.Abs(marked[i]-byHand[i]) > 1e-6 {
			t.Errorf("pair %d: %v with the flag, %v marked by hand", i, marked[i], byHand[i])
		}
		if math.Abs(marked[i]-unmarked[i]) < 1e-6 {
			t.Errorf("pair %d: marking changed nothing (%v)", i, marked[i])
		}
	}
	if qs[0] != "how many people live in port kelda" {
		t.Error("Score modified the caller's queries")
	}

	// A vocabulary without the marker is an error, not silently unmarked pairs.
	small, err := tokenizer.FromVocab([]string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "port", "kelda"}, tokenizer.UncasedNormalization())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&CrossEncoder{Model: m, Tokenizer: small, Backend: be}).Score(qs, ps); err == nil || !strings.Contains(err.Error(), MatchMarker) {
		t.Errorf("missing marker token: %v", err)
	}
}

// TestMarkedTeacherGeneralisesMatching trains the same small cross-encoder twice, for 60 steps, on
// 120 queries whose negatives are other queries' positives, with and without marked pairs, and
// reranks the groups of 40 other queries: with the markers, matching transfers to queries never
// trained on; without them, 60 steps are not enough (README, "The teacher").
func TestMarkedTeacherGeneralisesMatching(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two cross-encoders")
	}
	f := fixture.ColBERTKey(t)
	qids := slices.Sorted(maps.Keys(f.Positives))
	if len(qids) < 160 {
		t.Skipf("fixture has %d training queries, want 160", len(qids))
	}
	groups := func(ids []string) []negatives.TrainGroup {
		var gs []negatives.TrainGroup
		for _, qid := range ids {
			pid := slices.Sorted(maps.Keys(f.Positives[qid]))[0]
			gs = append(gs, negatives.TrainGroup{QID: qid, Query: f.Queries[qid], Positives: []string{pid}})
		}
		for i := range gs {
			for j := 1; j <= 3; j++ {
				gs[i].Negatives = append(gs[i].Negatives, gs[(i+7*j)%len(gs)].Positives[0])
			}
		}
		return gs
	}
	set := &negatives.TrainingSet{Texts: f.Texts, Train: groups(qids[:120]), Dev: groups(qids[120:160])}
	measure := func(mark bool) float64 {
		cfg := fixture.TinyConfig(f.Tk.VocabSize())
		cfg.InitializerRange = 1 / math.Sqrt(float64(cfg.HiddenSize))
		cfg.MarkExactMatches = mark
		m, err := models.New(models.KindCrossEncoder, cfg, 0, 3)
		if err != nil {
			t.Fatal(err)
		}
		be := fixture.Backend(t)
		res, err := Train(set, Options{Model: m, Tokenizer: f.Tk, Backend: be, Steps: 60, MaxLen: 64,
			Negatives: 3, QueriesPerBatch: 8, Quiet: true, Seed: 1,
			Optimizer: &train.Optimizer{LearningRate: 3e-3, WarmupSteps: 6, WeightDecay: 0.01, ClipNorm: 1}})
		if err != nil {
			t.Fatal(err)
		}
		dev, err := DevRerank(&CrossEncoder{Model: m, Tokenizer: f.Tk, Backend: be, MaxLen: 64}, set)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("marked %v: training loss %.3f → %.3f, held-out queries nDCG@10 %.4f", mark,
			res.History[0].Loss, res.History[len(res.History)-1].Loss, dev["nDCG@10"])
		return dev["nDCG@10"]
	}
	plain, marked := measure(false), measure(true)
	if !(marked > plain+0.1) {
		t.Errorf("held-out nDCG@10 %.4f with marked pairs, %.4f without: marking should make matching transfer", marked, plain)
	}
}

// TestMarkMatchesByRarity: with an index, shared words whose term is in fewer than rareDF·N
// documents get MatchMarker, other shared words CommonMatchMarker; a word with a rare and a common
// term counts as rare.
func TestMarkMatchesByRarity(t *testing.T) {
	ix, err := bm25.Build([]datasets.Document{
		{ID: "D1", Text: "Port Kelda people"}, {ID: "D2", Text: "Port Varn"}, {ID: "D3", Text: "Port Arlo"}, {ID: "D4", Text: "river delta"},
	}, bm25.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const r, c = MatchMarker + " ", CommonMatchMarker + " "
	q, p := MarkMatches("people of port kelda", "Most people in Port-Kelda fish near Port Arlo.", ix, 0.5)
	if want := r + "people of " + c + "port " + r + "kelda"; q != want {
		t.Errorf("query\n got %q\nwant %q", q, want)
	}
	if want := "Most " + r + "people in " + r + "Port-Kelda fish near " + c + "Port Arlo."; p != want {
		t.Errorf("passage\n got %q\nwant %q", p, want)
	}
	// Without an index (or with rareDF 0) every match is rare: MarkExactMatches.
	q0, p0 := MarkMatches("people of port kelda", "Most people in Port-Kelda fish near Port Arlo.", nil, 0.5)
	if eq, ep := MarkExactMatches("people of port kelda", "Most people in Port-Kelda fish near Port Arlo."); q0 != eq || p0 != ep {
		t.Errorf("without an index: %q / %q, want %q / %q", q0, p0, eq, ep)
	}
}
