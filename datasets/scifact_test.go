package datasets

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedSciFact is BEIR's SciFact beside the repository (../shared/data/scifact), when present.
func sharedSciFact(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "data", "scifact")
	if _, err := os.Stat(filepath.Join(dir, "corpus.jsonl")); err != nil {
		t.Skipf("SciFact is not at %s (get it with `mimicry download scifact`): %v", dir, err)
	}
	return dir
}

// TestSciFactMetadataNeverReachesAModel: SciFact's queries.jsonl names evidence documents in each
// claim's "metadata"; the loader keeps a query's id and text only, and no query text carries an
// evidence document id that its raw text does not.
func TestSciFactMetadataNeverReachesAModel(t *testing.T) {
	dir := sharedSciFact(t)
	c, err := Load("beir:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 5183 || len(c.Queries) != 300 || len(c.TrainQueries) != 809 {
		t.Fatalf("%d documents, %d test and %d training queries; want 5183, 300 and 809", len(c.Docs), len(c.Queries), len(c.TrainQueries))
	}
	f, err := os.Open(filepath.Join(dir, "queries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loaded := c.QueryTexts()
	withEvidence := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var raw struct {
			ID       string                     `json:"_id"`
			Text     string                     `json:"text"`
			Metadata map[string]json.RawMessage `json:"metadata"`
		}
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		got, ok := loaded[raw.ID]
		if !ok {
			continue // a query without judgements
		}
		if got != raw.Text {
			t.Fatalf("query %s: loaded text %q, the file's %q", raw.ID, got, raw.Text)
		}
		if len(raw.Metadata) > 0 {
			withEvidence++
		}
		for doc := range raw.Metadata {
			if strings.Contains(got, doc) && !strings.Contains(raw.Text, doc) {
				t.Fatalf("query %s: evidence document %s leaked into its text", raw.ID, doc)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if withEvidence != 693 {
		t.Errorf("%d claims carry evidence metadata, the README says 693", withEvidence)
	}
}

// TestSciFactTrainDev: "beir:DIR:train-dev" evaluates on a tenth of the training queries, trains
// on the rest, and never loads a test query.
func TestSciFactTrainDev(t *testing.T) {
	dir := sharedSciFact(t)
	c, err := Load("beir:" + dir + ":" + TrainDevSplit)
	if err != nil {
		t.Fatal(err)
	}
	test, err := LoadBEIRQrels(filepath.Join(dir, "qrels", "test.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Queries) != 81 || len(c.TrainQueries) != 728 {
		t.Fatalf("%d dev and %d training queries, want 81 and 728", len(c.Queries), len(c.TrainQueries))
	}
	for _, qs := range [][]Query{c.Queries, c.TrainQueries} {
		for _, q := range qs {
			if _, ok := test[q.ID]; ok {
				t.Fatalf("test query %s is in the train-dev collection", q.ID)
			}
		}
	}
	for _, q := range c.Queries {
		if _, ok := c.TrainQrels[q.ID]; ok {
			t.Fatalf("dev query %s is also a training query", q.ID)
		}
	}
	again, _ := Load("beir:" + dir + ":" + TrainDevSplit)
	if again.Queries[0].ID != c.Queries[0].ID || c.Name != "scifact:train-dev" {
		t.Errorf("the split is not stable, or the name %q is not scifact:train-dev", c.Name)
	}
}
