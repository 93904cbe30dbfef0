package negatives

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
)

// corpus: documents d00..d19 all mention "apple"; d00 mentions it most often, so BM25 ranks d00 first,
// then d01, … (shorter documents first among equal tf).
func corpus(t *testing.T) (*bm25.Index, []datasets.Document) {
	t.Helper()
	var docs []datasets.Document
	for i := range 20 {
		text := strings.Repeat("apple ", 20-i) + strings.Repeat("filler ", i)
		docs = append(docs, datasets.Document{ID: fmt.Sprintf("d%02d", i), Text: text})
	}
	ix, err := bm25.Build(docs, bm25.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return ix, docs
}

func TestMineTopFirstExcludesPositives(t *testing.T) {
	ix, _ := corpus(t)
	qrels := datasets.Qrels{}
	qrels.Add("q", "d00", 2)
	qrels.Add("q", "d02", 1)
	qrels.Add("q", "d03", 0) // judged non-relevant: stays a candidate
	got, err := Mine(ix, []datasets.Query{{ID: "q", Text: "apple"}}, qrels, MineConfig{Depth: 10, Count: 4})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"d01", "d03", "d04", "d05"}; !slices.Equal(got["q"], want) {
		t.Fatalf("negatives %v, want %v", got["q"], want)
	}
	// A pool smaller than count gives the whole pool.
	got, _ = Mine(ix, []datasets.Query{{ID: "q", Text: "apple"}}, qrels, MineConfig{Depth: 5, Count: 10})
	if want := []string{"d01", "d03", "d04"}; !slices.Equal(got["q"], want) {
		t.Fatalf("negatives %v, want %v", got["q"], want)
	}
	for _, bad := range []MineConfig{{Depth: 0, Count: 1}, {Depth: 1, Count: 0}, {Depth: 1, Count: 1, Strategy: 9}} {
		if _, err := Mine(ix, nil, nil, bad); err == nil {
			t.Errorf("config %+v accepted", bad)
		}
	}
}

func TestMineSampleIsSeededPerQuery(t *testing.T) {
	ix, _ := corpus(t)
	q := datasets.Query{ID: "q", Text: "apple"}
	other := datasets.Query{ID: "other", Text: "apple filler"}
	cfg := MineConfig{Depth: 20, Count: 5, Strategy: Sample, Seed: 3}
	a, err := Mine(ix, []datasets.Query{q}, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Mine(ix, []datasets.Query{other, q}, nil, cfg)
	if !slices.Equal(a["q"], b["q"]) {
		t.Fatalf("sample depends on the other queries: %v vs %v", a["q"], b["q"])
	}
	if len(a["q"]) != 5 {
		t.Fatalf("%d negatives, want 5", len(a["q"]))
	}
	// Sampled negatives keep BM25 rank order and are not simply the top 5.
	if !slices.IsSorted(a["q"]) {
		t.Errorf("sample not in rank order: %v", a["q"])
	}
	differs := false
	for seed := int64(0); seed < 5; seed++ {
		cfg.Seed = seed
		c, _ := Mine(ix, []datasets.Query{q}, nil, cfg)
		if !slices.Equal(c["q"], []string{"d00", "d01", "d02", "d03", "d04"}) && !slices.Equal(c["q"], a["q"]) {
			differs = true
		}
	}
	if !differs {
		t.Error("different seeds always give the same sample")
	}
}

func TestBuildSupervisedOnSynthetic(t *testing.T) {
	c, err := datasets.Synthetic(1)
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Mine: MineConfig{Depth: 50, Count: 8, Strategy: Sample, Seed: 5}, DevFraction: 0.1}
	ts, err := Build(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if ts.Source != "qrels" {
		t.Fatalf("source %q", ts.Source)
	}
	if len(ts.Train)+len(ts.Dev) != len(c.TrainQueries) || len(ts.Dev) != len(c.TrainQueries)/10 {
		t.Fatalf("%d train + %d dev groups for %d training queries", len(ts.Train), len(ts.Dev), len(c.TrainQueries))
	}
	evalIDs := map[string]bool{}
	for _, q := range c.Queries {
		evalIDs[q.ID] = true
	}
	seen := map[string]bool{}
	full := 0
	for _, g := range append(slices.Clone(ts.Train), ts.Dev...) {
		if seen[g.QID] || evalIDs[g.QID] {
			t.Fatalf("query %s repeated or an evaluation query", g.QID)
		}
		seen[g.QID] = true
		// A query whose only matching words are its entity's name has a pool of that entity's few
		// passages; most pools are larger than 8.
		if len(g.Positives) == 0 || len(g.Negatives) == 0 || len(g.Negatives) > 8 {
			t.Fatalf("group %s: %d positives, %d negatives", g.QID, len(g.Positives), len(g.Negatives))
		}
		if len(g.Negatives) == 8 {
			full++
		}
		for i, p := range g.Positives {
			if c.TrainQrels[g.QID][p] <= 0 {
				t.Fatalf("group %s: positive %s not judged relevant", g.QID, p)
			}
			if i > 0 && c.TrainQrels[g.QID][p] > c.TrainQrels[g.QID][g.Positives[i-1]] {
				t.Fatalf("group %s: positives not best grade first", g.QID)
			}
		}
		for _, n := range g.Negatives {
			if c.TrainQrels[g.QID][n] > 0 {
				t.Fatalf("group %s: negative %s is a positive", g.QID, n)
			}
		}
		for _, id := range append(slices.Clone(g.Positives), g.Negatives...) {
			if ts.Texts[id] == "" {
				t.Fatalf("no text for %s", id)
			}
		}
	}
	if full < len(seen)*9/10 {
		t.Errorf("only %d of %d groups have 8 negatives", full, len(seen))
	}
	again, err := Build(c, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ts, again) {
		t.Fatal("Build is not deterministic")
	}
}

func TestBuildWeakSupervision(t *testing.T) {
	c := &datasets.Collection{
		Name: "tiny",
		Docs: []datasets.Document{
			{ID: "1", Title: "supersonic flow over wings", Text: "supersonic flow over wings . we measured lift on swept wings at mach two ."},
			{ID: "2", Title: "heat transfer in boundary layers", Text: "the heat transfer rate in laminar boundary layers was computed ."},
			{ID: "3", Title: "", Text: "an untitled note on wings and lift ."},
			{ID: "4", Title: "title only", Text: ""},
			{ID: "5", Title: "shock waves", Text: "shock waves ."}, // body is only the title copy
			{ID: "6", Title: "lift of delta wings", Text: "delta wings produce vortex lift at high angles of attack ."},
		},
		Queries: []datasets.Query{{ID: "1", Text: "what is the lift of swept wings"}},
		Qrels:   datasets.Qrels{"1": {"1": 1}},
	}
	ts, err := Build(c, Options{Mine: MineConfig{Depth: 10, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if ts.Source != "weak:title-body" || len(ts.Dev) != 0 {
		t.Fatalf("source %q, %d dev groups", ts.Source, len(ts.Dev))
	}
	var qids []string
	for _, g := range ts.Train {
		qids = append(qids, g.QID)
		if len(g.Positives) != 1 || "title:"+g.Positives[0] != g.QID {
			t.Fatalf("group %+v: positive should be its own document", g)
		}
		if g.Query == c.Queries[0].Text {
			t.Fatal("an evaluation query was used for training")
		}
		if slices.Contains(g.Negatives, g.Positives[0]) {
			t.Fatalf("group %s: positive among negatives", g.QID)
		}
	}
	if want := []string{"title:1", "title:2", "title:6"}; !slices.Equal(qids, want) {
		t.Fatalf("pseudo-queries %v, want %v (no title, no body or title-only body skipped)", qids, want)
	}
	if got := ts.Texts["1"]; got != "we measured lift on swept wings at mach two ." {
		t.Errorf("title copy not stripped: %q", got)
	}
	// The untitled document 3 is no query but can be a negative (it shares "wings" and "lift").
	if !slices.Contains(ts.Train[0].Negatives, "3") && !slices.Contains(ts.Train[2].Negatives, "3") {
		t.Errorf("untitled document never mined as a negative: %+v", ts.Train)
	}
	// The split is seeded and reproducible.
	a, _ := Build(c, Options{Mine: MineConfig{Depth: 10, Count: 2, Seed: 9}, DevFraction: 0.34})
	b, _ := Build(c, Options{Mine: MineConfig{Depth: 10, Count: 2, Seed: 9}, DevFraction: 0.34})
	if len(a.Dev) != 1 || len(a.Train) != 2 || !reflect.DeepEqual(a, b) {
		t.Fatalf("split %d/%d, deterministic %v", len(a.Train), len(a.Dev), reflect.DeepEqual(a, b))
	}
	if _, err := Build(&datasets.Collection{Name: "empty", Docs: []datasets.Document{{ID: "x", Text: "body"}}}, Options{Mine: MineConfig{Depth: 1, Count: 1}}); err == nil {
		t.Error("a collection without training queries or titles should be an error")
	}
	if _, err := Build(c, Options{Mine: MineConfig{Depth: 1, Count: 1}, DevFraction: 1}); err == nil {
		t.Error("dev fraction 1 accepted")
	}
}

func TestWeakSupervisionCranfield(t *testing.T) {
	dir := "../../../shared/data/cranfield"
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("Cranfield not available at %s: %v", dir, err)
	}
	c, err := datasets.Load("smart:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := Build(c, Options{Mine: MineConfig{Depth: 30, Count: 4}, DevFraction: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	n := len(ts.Train) + len(ts.Dev)
	if n < 1300 || n > len(c.Docs) {
		t.Fatalf("%d pseudo-queries from %d documents", n, len(c.Docs))
	}
	evalTexts := map[string]bool{}
	for _, q := range c.Queries {
		evalTexts[strings.Join(strings.Fields(q.Text), " ")] = true
	}
	stripped := 0
	for _, g := range ts.Train {
		if evalTexts[g.Query] {
			t.Fatalf("evaluation query text used for training: %q", g.Query)
		}
		body := ts.Texts[g.Positives[0]]
		if strings.HasPrefix(strings.ToLower(body), strings.ToLower(g.Query)) {
			t.Fatalf("body of %s still starts with its title %q", g.Positives[0], g.Query)
		}
		if len(g.Negatives) == 4 {
			stripped++
		}
	}
	if stripped < len(ts.Train)*9/10 {
		t.Errorf("only %d of %d groups have 4 negatives", stripped, len(ts.Train))
	}
}
