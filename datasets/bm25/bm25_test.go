package bm25

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// tiny is the hand-computed corpus: lengths 3, 2, 1, 4 → N = 4, avgdl = 2.5.
func tiny(t *testing.T) *Index {
	t.Helper()
	docs := []datasets.Document{
		{ID: "d1", Text: "cat cat dog"},
		{ID: "d2", Text: "dog bird"},
		{ID: "d3", Text: "fish"},
		{ID: "d4", Text: "cat fish fish fish"},
	}
	ix, err := Build(docs, Config{Analyzer: &Analyzer{Lowercase: true}})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func TestHandComputedScores(t *testing.T) {
	ix := tiny(t)
	if ix.DocCount() != 4 || ix.AvgDocLength() != 2.5 || ix.DocFreq("cat") != 2 {
		t.Fatalf("N=%d avgdl=%v df(cat)=%d", ix.DocCount(), ix.AvgDocLength(), ix.DocFreq("cat"))
	}
	// idf(df=2) = ln(1 + 2.5/2.5) = ln 2; idf(df=1) = ln(1 + 3.5/1.5).
	if !near(ix.IDF("cat"), math.Ln2) || !near(ix.IDF("bird"), math.Log(1+3.5/1.5)) {
		t.Fatalf("idf(cat)=%v idf(bird)=%v", ix.IDF("cat"), ix.IDF("bird"))
	}
	// By hand, k1 = 0.9, b = 0.4:
	//   cat in d1: ln2 · 2/(2 + 0.9·(0.6 + 0.4·3/2.5)) = ln2 · 2/2.972
	//   cat in d4: ln2 · 1/(1 + 0.9·(0.6 + 0.4·4/2.5)) = ln2 · 1/2.116
	//   fish in d4: ln2 · 3/(3 + 1.116); fish in d3: ln2 · 1/(1 + 0.684)
	cases := []struct {
		query string
		want  []Hit
	}{
		{"cat", []Hit{{"d1", 0.4664516692866388}, {"d4", 0.3275742819281405}}},
		{"Cat FISH", []Hit{{"d4", 0.8327835972050686}, {"d1", 0.4664516692866388}, {"d3", 0.4116075894061433}}},
		{"bird", []Hit{{"d2", 0.6586284487559826}}},
		{"cat cat", []Hit{{"d1", 2 * 0.4664516692866388}, {"d4", 2 * 0.3275742819281405}}}, // repeated terms count
		{"unicorn", nil},
	}
	for _, c := range cases {
		got := ix.Search(c.query, 10)
		if len(got) != len(c.want) {
			t.Fatalf("Search(%q) = %v, want %v", c.query, got, c.want)
		}
		for i := range got {
			if got[i].DocID != c.want[i].DocID || !near(got[i].Score, c.want[i].Score) {
				t.Errorf("Search(%q)[%d] = %v, want %v", c.query, i, got[i], c.want[i])
			}
		}
	}
	if got := ix.Search("cat fish", 2); len(got) != 2 || got[1].DocID != "d1" {
		t.Errorf("k=2: %v", got)
	}
	if got := ix.Search("cat", 0); got != nil {
		t.Errorf("k=0: %v", got)
	}
}

func TestParamsChangeScores(t *testing.T) {
	docs := []datasets.Document{{ID: "a", Text: "x y"}, {ID: "b", Text: "x y z w"}}
	p := Params{K1: 1.2, B: 0.75}
	ix, err := Build(docs, Config{Params: &p, Analyzer: &Analyzer{}})
	if err != nil {
		t.Fatal(err)
	}
	// avgdl = 3; idf(x) = ln(1 + 0.5/2.5); a: 1/(1 + 1.2·(0.25 + 0.75·2/3)).
	want := math.Log(1.2) * 1 / (1 + 1.2*(0.25+0.75*2.0/3))
	if got := ix.Search("x", 1); len(got) != 1 || got[0].DocID != "a" || !near(got[0].Score, want) {
		t.Fatalf("got %v, want a %v", got, want)
	}
	bad := Params{K1: -1, B: 0.5}
	if _, err := Build(docs, Config{Params: &bad}); err == nil {
		t.Error("negative k1 accepted")
	}
	bad = Params{K1: 1, B: 1.5}
	if _, err := Build(docs, Config{Params: &bad}); err == nil {
		t.Error("b > 1 accepted")
	}
}

func TestTiesByDocIDAscending(t *testing.T) {
	var docs []datasets.Document
	for _, id := range []string{"c", "a", "d10", "b", "d9"} {
		docs = append(docs, datasets.Document{ID: id, Text: "same words here"})
	}
	docs = append(docs, datasets.Document{ID: "z", Text: "same same words here"})
	ix, err := Build(docs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range ix.Search("same", 10) {
		ids = append(ids, h.DocID)
	}
	if want := []string{"z", "a", "b", "c", "d10", "d9"}; !slices.Equal(ids, want) {
		t.Fatalf("order %v, want %v", ids, want)
	}
	// The heap path (k much smaller than the candidates) must agree with the sort path.
	var many []datasets.Document
	for i := range 200 {
		many = append(many, datasets.Document{ID: fmt.Sprintf("doc%03d", (i*37)%200), Text: fmt.Sprintf("w%d common", i%7)})
	}
	ix, err = Build(many, Config{})
	if err != nil {
		t.Fatal(err)
	}
	all := ix.Search("common w3", 1000)
	top := ix.Search("common w3", 5)
	if !reflect.DeepEqual(all[:5], top) {
		t.Fatalf("top-5 %v differs from the head of the full ranking %v", top, all[:5])
	}
	for i := 1; i < len(all); i++ {
		if !better(all[i-1], all[i]) {
			t.Fatalf("ranking not strictly ordered at %d: %v %v", i, all[i-1], all[i])
		}
	}
}

func TestSearchBatchMatchesSearch(t *testing.T) {
	var docs []datasets.Document
	var queries []datasets.Query
	for i := range 300 {
		docs = append(docs, datasets.Document{ID: fmt.Sprintf("d%d", i), Text: fmt.Sprintf("alpha%d beta%d gamma%d common", i%13, i%7, i%5)})
	}
	for i := range 40 {
		queries = append(queries, datasets.Query{ID: fmt.Sprintf("q%d", i), Text: fmt.Sprintf("alpha%d gamma%d", i%13, i%5)})
	}
	ix, err := Build(docs, Config{})
	if err != nil {
		t.Fatal(err)
	}
	batch := ix.SearchBatch(queries, 20)
	for _, q := range queries {
		if !reflect.DeepEqual(batch[q.ID], ix.Search(q.Text, 20)) {
			t.Fatalf("query %s: batch and single search differ", q.ID)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build([]datasets.Document{{ID: "a"}, {ID: "a"}}, Config{}); err == nil {
		t.Error("duplicate ids accepted")
	}
	if _, err := Build([]datasets.Document{{ID: ""}}, Config{}); err == nil {
		t.Error("empty id accepted")
	}
	// Empty documents do not count in N or avgdl (Lucene's docCount).
	ix, err := Build([]datasets.Document{{ID: "a", Text: "x"}, {ID: "b", Text: "the"}, {ID: "c"}}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if ix.DocCount() != 1 || ix.Len() != 3 || ix.AvgDocLength() != 1 {
		t.Errorf("N=%d len=%d avgdl=%v", ix.DocCount(), ix.Len(), ix.AvgDocLength())
	}
}

func TestContentsAndStripTitle(t *testing.T) {
	crlf := "experimental investigation of the aerodynamics of a\r\nwing in a slipstream .\r\n"
	body := "experimental investigation of the aerodynamics of a\r\nwing in a slipstream .\r\n  an experimental study of a wing was made ."
	rest, ok := StripTitle(crlf, body)
	if !ok || rest != "an experimental study of a wing was made ." {
		t.Fatalf("StripTitle = %q, %v", rest, ok)
	}
	if rest, ok := StripTitle("Wing theory", "Wingspan of birds"); ok || rest != "Wingspan of birds" {
		t.Errorf("partial-word title stripped: %q %v", rest, ok)
	}
	if rest, ok := StripTitle("Shock waves", "Shock waves. shock  WAVES: they form ahead of bodies."); !ok || rest != "they form ahead of bodies." {
		t.Errorf("repeated copy with punctuation: %q %v", rest, ok)
	}
	if rest, ok := StripTitle("", " body "); ok || rest != "body" {
		t.Errorf("empty title: %q %v", rest, ok)
	}
	for _, c := range []struct {
		d    datasets.Document
		want string
	}{
		{datasets.Document{Title: "T", Text: "body"}, "T\nbody"},
		{datasets.Document{Title: "", Text: "body"}, "body"},
		{datasets.Document{Title: "T", Text: ""}, "T"},
		// The body ends the title's last word differently: not a copy.
		{datasets.Document{Title: "wing in a slipstream", Text: "Wing in a  slipstreams more"}, "wing in a slipstream\nWing in a  slipstreams more"},
		// A copy of the title at the start of the body: the title is indexed once.
		{datasets.Document{Title: "Wing in a slipstream .", Text: "wing in a\r\nslipstream .\r\n  an experimental study"}, "wing in a\r\nslipstream .\r\n  an experimental study"},
	} {
		if got := Contents(c.d); got != c.want {
			t.Errorf("Contents(%+v) = %q, want %q", c.d, got, c.want)
		}
	}
}
