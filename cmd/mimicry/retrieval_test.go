package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/distill/eval"
)

func readRetrievalMetrics(t *testing.T, path string) retrievalMetrics {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m retrievalMetrics
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

func TestBM25AndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "run.trec")
	metrics := filepath.Join(dir, "metrics.json")
	if err := runBM25([]string{"--data", "synthetic:3", "--run", run, "--metrics", metrics, "--k", "100"}); err != nil {
		t.Fatal(err)
	}
	m := readRetrievalMetrics(t, metrics)
	if m.Dataset != "synthetic:3" || m.Queries != 200 {
		t.Fatalf("metrics %+v", m)
	}
	for _, name := range []string{"nDCG@10", "RR@10", "R@100", "AP"} {
		if v, ok := m.Measures[name]; !ok || v <= 0 || v > 1 {
			t.Errorf("%s = %v (present %v)", name, v, ok)
		}
	}
	entries, err := datasets.LoadTRECRun(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || entries[0].Rank != 1 || entries[0].Tag != "mimicry-bm25" {
		t.Fatalf("run starts with %+v", entries[:1])
	}
	perQuery := map[string]int{}
	for _, e := range entries {
		perQuery[e.QueryID]++
	}
	for q, n := range perQuery {
		if n > 100 {
			t.Fatalf("query %s has %d results, want ≤ 100", q, n)
		}
	}

	// Evaluating the written run gives the same numbers: the run file keeps the scores exactly.
	metrics2 := filepath.Join(dir, "metrics2.json")
	if err := runEval([]string{"--data", "synthetic:3", "--run", run, "--metrics", metrics2}); err != nil {
		t.Fatal(err)
	}
	m2 := readRetrievalMetrics(t, metrics2)
	for name, v := range m.Measures {
		if m2.Measures[name] != v {
			t.Errorf("eval of the run file: %s = %v, bm25 reported %v", name, m2.Measures[name], v)
		}
	}

	// --baseline: the run against itself differs by 0 with p = 1, against its reverse by a positive
	// mean with a small p; a missing baseline is an error naming it.
	c, err := datasets.Load("synthetic:3")
	if err != nil {
		t.Fatal(err)
	}
	ms := []eval.Measure{{Kind: eval.NDCG, Cutoff: 10}}
	r, err := eval.RunFromEntries(entries)
	if err != nil {
		t.Fatal(err)
	}
	res, err := eval.Evaluate(c.Qrels, r, ms, eval.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := compareWithBaseline(&buf, c.Qrels, res, run, ms, eval.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "+0.0000  p = 1.0000") {
		t.Errorf("the run against itself:\n%s", buf.String())
	}
	reversed := make([]datasets.RunEntry, len(entries))
	for i, e := range entries {
		e.Score = -e.Score
		reversed[i] = e
	}
	revPath := filepath.Join(dir, "reversed.trec")
	if err := datasets.WriteTRECRun(revPath, reversed); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := compareWithBaseline(&buf, c.Qrels, res, revPath, ms, eval.Options{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "p = 0.0000") || !strings.Contains(buf.String(), "nDCG@10    +0.") {
		t.Errorf("the run against its reverse:\n%s", buf.String())
	}
	if err := compareWithBaseline(&buf, c.Qrels, res, filepath.Join(dir, "nobase.trec"), ms, eval.Options{}); err == nil || !strings.Contains(err.Error(), "nobase.trec") {
		t.Errorf("missing baseline: %v", err)
	}

	// Errors name the path; nothing is left behind on failure.
	err = runEval([]string{"--data", "synthetic:3", "--run", filepath.Join(dir, "missing.trec")})
	if err == nil || !strings.Contains(err.Error(), "missing.trec") {
		t.Errorf("missing run: %v", err)
	}
	err = runBM25([]string{"--data", "synthetic:3", "--run", filepath.Join(dir, "no", "such", "run.trec")})
	if err == nil || !strings.Contains(err.Error(), "run.trec") {
		t.Errorf("unwritable run: %v", err)
	}
	if err := runBM25([]string{"--data", "synthetic:3"}); err == nil {
		t.Error("missing --run accepted")
	}
	if err := runEval([]string{"--data", "synthetic:3", "--run", run, "--measures", "bogus@3"}); err == nil {
		t.Error("unknown measure accepted")
	}
}

func TestNegativesCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "train.jsonl")
	if err := runNegatives([]string{"--data", "synthetic:3", "--depth", "30", "--count", "4", "--out", out, "--texts", "--dev", "0.1"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	splits := map[string]int{}
	for sc.Scan() {
		var l trainGroupLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		splits[l.Split]++
		if l.QID == "" || l.Query == "" || len(l.Positives) == 0 || len(l.Negatives) > 4 {
			t.Fatalf("line %+v", l)
		}
		if l.PositiveTexts == nil || len(*l.PositiveTexts) != len(l.Positives) || l.NegativeTexts == nil || len(*l.NegativeTexts) != len(l.Negatives) {
			t.Fatalf("texts missing or not parallel to ids: %+v", l)
		}
		for _, s := range *l.PositiveTexts {
			if s == "" {
				t.Fatalf("empty positive text in %+v", l)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if splits["train"] != 1080 || splits["dev"] != 120 {
		t.Errorf("splits %v, want 1080 train and 120 dev", splits)
	}
	if err := runNegatives([]string{"--data", "synthetic:3", "--out", out, "--strategy", "best"}); err == nil {
		t.Error("unknown strategy accepted")
	}
}
