package datasets

import (
	"reflect"
	"strings"
	"testing"
)

func TestSyntheticDeterministic(t *testing.T) {
	a, err := Synthetic(7)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Synthetic(7)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("Synthetic(7) differs between two calls")
	}
	c, err := Synthetic(8)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a.Docs, c.Docs) || reflect.DeepEqual(a.Queries, c.Queries) {
		t.Fatal("seeds 7 and 8 give the same collection")
	}
	if a.Name != "synthetic:7" || c.Name != "synthetic:8" {
		t.Errorf("names %q %q", a.Name, c.Name)
	}
}

func TestSyntheticShape(t *testing.T) {
	c, err := Synthetic(42)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.Docs); n < 2000 || n > 3000 {
		t.Errorf("%d documents, want 2,000–3,000", n)
	}
	if len(c.Queries) != synthEvalQueries || len(c.TrainQueries) != synthTrainQueries {
		t.Errorf("%d eval and %d train queries", len(c.Queries), len(c.TrainQueries))
	}
	docs := map[string]bool{}
	vocab := map[string]bool{}
	for _, d := range c.Docs {
		if docs[d.ID] {
			t.Fatalf("duplicate document id %s", d.ID)
		}
		docs[d.ID] = true
		if strings.TrimSpace(d.Text) == "" {
			t.Fatalf("document %s is empty", d.ID)
		}
		for _, w := range strings.FieldsFunc(strings.ToLower(d.Text), func(r rune) bool { return r == ' ' || r == '.' || r == ',' }) {
			vocab[w] = true
		}
	}
	if len(vocab) > 5000 {
		t.Errorf("vocabulary of %d words, want a few thousand at most", len(vocab))
	}

	// Train and eval queries are disjoint, by id and by text.
	ids, texts := map[string]bool{}, map[string]bool{}
	for _, q := range c.Queries {
		ids[q.ID], texts[strings.ToLower(strings.TrimSuffix(q.Text, "?"))] = true, true
	}
	if len(ids) != len(c.Queries) {
		t.Error("duplicate evaluation query ids")
	}
	for _, q := range c.TrainQueries {
		if ids[q.ID] || texts[strings.ToLower(strings.TrimSuffix(q.Text, "?"))] {
			t.Fatalf("training query %s %q overlaps the evaluation queries", q.ID, q.Text)
		}
		if _, ok := c.Qrels[q.ID]; ok {
			t.Fatalf("training query %s has evaluation judgements", q.ID)
		}
	}

	// Every query has a passage of grade 2; judgements name existing documents; grades are 1 or 2.
	check := func(what string, qs []Query, qrels Qrels) {
		if len(qrels) != len(qs) {
			t.Errorf("%s: %d judged queries for %d queries", what, len(qrels), len(qs))
		}
		grade1 := 0
		for _, q := range qs {
			best := 0
			for d, g := range qrels[q.ID] {
				if !docs[d] {
					t.Fatalf("%s: query %s judges unknown document %s", what, q.ID, d)
				}
				if g != 1 && g != 2 {
					t.Fatalf("%s: grade %d", what, g)
				}
				best = max(best, g)
				if g == 1 {
					grade1++
				}
			}
			if best != 2 {
				t.Fatalf("%s: query %s %q has no passage of grade 2", what, q.ID, q.Text)
			}
		}
		if grade1 == 0 {
			t.Errorf("%s: no partially relevant passage at all", what)
		}
	}
	check("eval", c.Queries, c.Qrels)
	check("train", c.TrainQueries, c.TrainQrels)

	// A fact passage mentions the value its fact has, so answers are really in the text: spot-check that
	// the grade-2 passages of one query share the query's entity name.
	q := c.Queries[0]
	for d, g := range c.Qrels[q.ID] {
		if g != 2 {
			continue
		}
		var text string
		for _, doc := range c.Docs {
			if doc.ID == d {
				text = doc.Text
			}
		}
		found := false
		for _, w := range strings.Fields(strings.ToLower(strings.TrimSuffix(q.Text, "?"))) {
			if len(w) >= 4 && strings.Contains(strings.ToLower(text), w) {
				found = true
			}
		}
		if !found {
			t.Errorf("passage %s %q shares no long word with its query %q", d, text, q.Text)
		}
	}
}

func TestSyntheticWithSizes(t *testing.T) {
	kinds := synthKinds()
	if len(kinds) != synthKindCount {
		t.Fatalf("%d kinds, synthKindCount is %d", len(kinds), synthKindCount)
	}
	for _, k := range kinds {
		if len(k.attrs) != synthFactsPerEntity {
			t.Fatalf("kind %s has %d attributes, synthFactsPerEntity is %d", k.name, len(k.attrs), synthFactsPerEntity)
		}
	}

	c, err := Load("synthetic:seed=3,entities=150,train=3000,eval=100")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Queries) != 100 || len(c.TrainQueries) != 3000 || len(c.Qrels) != 100 || len(c.TrainQrels) != 3000 {
		t.Errorf("%d/%d evaluation queries/judged, %d/%d training", len(c.Queries), len(c.Qrels), len(c.TrainQueries), len(c.TrainQrels))
	}
	// 150 entities per kind: twice the default world, about twice its 2,800 passages.
	if n := len(c.Docs); n < 4500 || n > 6500 {
		t.Errorf("%d documents for 150 entities per kind, want about 5,600", n)
	}
	if c.Name != "synthetic:seed=3,entities=150,train=3000,eval=100" {
		t.Errorf("name %q", c.Name)
	}
	// The name is a spec that gives the same collection back.
	again, err := Load(c.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, again) {
		t.Error("Load(c.Name) differs from c")
	}
	// Default sizes keep the short name and the very collection of Synthetic.
	d, err := Load("synthetic:seed=42,entities=75")
	if err != nil {
		t.Fatal(err)
	}
	def, err := Synthetic(42)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "synthetic:42" || !reflect.DeepEqual(d, def) {
		t.Errorf("synthetic:seed=42,entities=75 is not the default collection (name %q)", d.Name)
	}

	for spec, want := range map[string]string{
		"synthetic:entities=5":             "10 to 1000",
		"synthetic:entities=2000":          "10 to 1000",
		"synthetic:entities=10,train=1000": "only 240 facts",
		"synthetic:size=3":                 `unknown key "size"`,
		"synthetic:train=-1":               "must be positive",
		"synthetic:train=x":                "not an integer",
		"synthetic:seed=1,seed=2":          "given twice",
		"synthetic:seed=1,7":               "not key=value",
		"synthetic:abc":                    "not an integer",
	} {
		if _, err := Load(spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error containing %q", spec, err, want)
		}
	}
}
