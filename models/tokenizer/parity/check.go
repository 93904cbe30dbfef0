package parity

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

// Options adjusts [Check].
type Options struct {
	// Skip, when set, returns a reason (non-empty) for texts that the tokenizer is known not to
	// take; they are counted and logged, not compared.
	Skip func(text string) string
	// MaxReports is the number of mismatches printed per subtest (default 10); all are counted.
	MaxReports int
}

// Result counts what [Check] compared.
type Result struct {
	// Compared, Mismatched and Skipped count strings (or pairs, or padded rows).
	Compared, Mismatched, Skipped int
}

// Add adds the counts of r2 to r.
func (r *Result) Add(r2 Result) {
	r.Compared += r2.Compared
	r.Mismatched += r2.Mismatched
	r.Skipped += r2.Skipped
}

func (r Result) String() string {
	return fmt.Sprintf("%d compared, %d mismatched, %d skipped", r.Compared, r.Mismatched, r.Skipped)
}

// checker runs one model's checks.
type checker struct {
	model string
	tk    tokenizer.Tokenizer
	opts  Options
	fix   *Fixture
	total Result
}

// Check compares tk with the fixture's results for model ([BertBaseUncased] or [MiniLM]) as
// subtests: "hard" (hard cases, full ids), "sweep" (every code point), "data/<source>" (shared
// data, skipped when ../shared/data is absent), "pairs/…" (pair and single-text rows with
// truncation and padding, from [tokenizer.EncodePairBatch] and [tokenizer.EncodeBatch]) and
// "data_pairs/…". Every mismatch fails the test; the first few are printed with their text. It
// returns the counts over all subtests.
func Check(t *testing.T, model string, tk tokenizer.Tokenizer, opts Options) Result {
	t.Helper()
	if opts.MaxReports <= 0 {
		opts.MaxReports = 10
	}
	fix, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := fix.Header.Models[model]; !ok {
		t.Fatalf("parity: the fixture has no model %q", model)
	}
	c := &checker{model: model, tk: tk, opts: opts, fix: fix}
	dataDir, dataErr := SharedDataDir()
	if dataErr == nil && testing.Short() {
		dataErr = fmt.Errorf("-short: the shared-data checks are skipped")
	}

	for _, s := range fix.Singles {
		c.run(t, "single/"+s.Set, func(t *testing.T, r *reporter) { c.single(t, r, s) })
	}
	if fix.Sweep != nil {
		c.run(t, "sweep", func(t *testing.T, r *reporter) { c.sweep(t, r, *fix.Sweep) })
	}
	for _, d := range fix.Data {
		c.run(t, "data/"+d.Source, func(t *testing.T, r *reporter) {
			if dataErr != nil {
				t.Skip(dataErr)
			}
			c.data(t, r, dataDir, d)
		})
	}
	for _, p := range fix.Pairs {
		name := fmt.Sprintf("pairs/%s/len=%d,multiple=%d", p.Set, p.MaxLen, p.PadMultiple)
		if p.Single {
			name = fmt.Sprintf("singles/%s/len=%d,multiple=%d", p.Set, p.MaxLen, p.PadMultiple)
		}
		c.run(t, name, func(t *testing.T, r *reporter) { c.pairs(t, r, p) })
	}
	for _, p := range fix.DataPairs {
		name := fmt.Sprintf("data_pairs/%s+%s/len=%d,multiple=%d", p.First, p.Second, p.MaxLen, p.PadMultiple)
		c.run(t, name, func(t *testing.T, r *reporter) {
			if dataErr != nil {
				t.Skip(dataErr)
			}
			c.dataPairs(t, r, dataDir, p)
		})
	}
	t.Logf("%s: %v", model, c.total)
	return c.total
}

// CheckNormalization compares [tokenizer.Normalization.Normalize] with Hugging Face's
// BertNormalizer under several settings (uncased, cased, single options) on the hard cases and
// the code-point sweep, as subtests.
func CheckNormalization(t *testing.T) Result {
	t.Helper()
	fix, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{model: "BertNormalizer", opts: Options{MaxReports: 10}, fix: fix}
	for _, n := range fix.Normalize {
		cfg := n.Config
		norm := tokenizer.Normalization{CleanText: cfg.CleanText, HandleChineseChars: cfg.HandleChineseChars,
			StripAccents: cfg.StripAccents, Lowercase: cfg.Lowercase}
		name := fmt.Sprintf("clean=%v,chinese=%v,strip=%v,lower=%v", cfg.CleanText, cfg.HandleChineseChars, cfg.StripAccents, cfg.Lowercase)
		c.run(t, name, func(t *testing.T, r *reporter) {
			var texts []string
			for _, s := range fix.Singles {
				if s.Set == n.Set {
					texts = s.Texts
				}
			}
			if len(texts) != len(n.Out) {
				t.Fatalf("parity: %d normalised texts for the %d texts of set %q", len(n.Out), len(texts), n.Set)
			}
			for i, text := range texts {
				r.Compared++
				if got := norm.Normalize(text); got != n.Out[i] {
					r.mismatch("text %d %s:\n got %+q\nwant %+q", i, quote(text, 200), got, n.Out[i])
				}
			}
			chunk := fix.Header.SweepChunk
			for k, h := range n.SweepHashes {
				r.Compared++
				if got := norm.Normalize(SweepText(k, chunk)); TextHash(got) != h {
					r.mismatch("sweep string %d (U+%04X–U+%04X): normalised text differs", k, k*chunk, (k+1)*chunk-1)
				}
			}
		})
	}
	t.Logf("normalisation: %v", c.total)
	return c.total
}

// reporter counts and prints mismatches of one subtest.
type reporter struct {
	t   *testing.T
	max int
	Result
}

func (r *reporter) mismatch(format string, args ...any) {
	r.t.Helper()
	r.Mismatched++
	if r.Mismatched <= r.max {
		r.t.Errorf(format, args...)
	}
}

func (c *checker) run(t *testing.T, name string, fn func(*testing.T, *reporter)) {
	t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
		r := &reporter{t: t, max: c.opts.MaxReports}
		defer func() {
			c.total.Add(r.Result)
			if t.Skipped() {
				return
			}
			if r.Mismatched > 0 {
				t.Errorf("%s: %d of %d mismatched (%d skipped)", c.model, r.Mismatched, r.Compared, r.Skipped)
			} else {
				t.Logf("%s: %d compared, 0 mismatched, %d skipped", c.model, r.Compared, r.Skipped)
			}
		}()
		fn(t, r)
	})
}

func (c *checker) skip(r *reporter, texts ...string) bool {
	if c.opts.Skip == nil {
		return false
	}
	for _, s := range texts {
		if reason := c.opts.Skip(s); reason != "" {
			r.Skipped++
			if r.Skipped <= 3 {
				r.t.Logf("skipped %s: %s", quote(s, 80), reason)
			}
			return true
		}
	}
	return false
}

func (c *checker) tokens(ids []int) string {
	return fmt.Sprintf("%q", tokenizer.Tokens(c.tk, ids))
}

func mustFor[T any](t *testing.T, p PerModel[T], model, what string) T {
	t.Helper()
	v, ok := p.For(model)
	if !ok {
		t.Fatalf("parity: the fixture has no %s for %s", what, model)
	}
	return v
}

func (c *checker) single(t *testing.T, r *reporter, s Single) {
	want := mustFor(t, s.IDs, c.model, "ids of set "+s.Set)
	if len(want) != len(s.Texts) {
		t.Fatalf("parity: set %s has %d texts but %d id lists", s.Set, len(s.Texts), len(want))
	}
	for i, text := range s.Texts {
		if c.skip(r, text) {
			continue
		}
		r.Compared++
		if got := c.tk.Encode(text); !slices.Equal(got, want[i]) {
			r.mismatch("text %d %s:\n got %s\nwant %s", i, quote(text, 300), c.tokens(got), c.tokens(want[i]))
		}
	}
}

// sweep compares each code point's word "a" c "b" in turn, so that a mismatch names the code
// point: words are separated by spaces, so the ids of a sweep string are the concatenation of
// the ids of its words.
func (c *checker) sweep(t *testing.T, r *reporter, s Sweep) {
	want := mustFor(t, s.IDs, c.model, "sweep ids")
	if n := 0x110000 / s.Chunk; len(want) != n {
		t.Fatalf("parity: sweep has %d strings, want %d", len(want), n)
	}
	for k, ids := range want {
		text := SweepText(k, s.Chunk)
		if c.skip(r, text) {
			continue
		}
		got := c.tk.Encode(text)
		r.Compared++
		if slices.Equal(got, ids) {
			continue
		}
		// Localise: walk the words until the first that differs.
		at := 0
		found := false
		for cp := rune(k * s.Chunk); cp < rune((k+1)*s.Chunk) && !found; cp++ {
			if cp >= 0xD800 && cp <= 0xDFFF {
				continue
			}
			word := "a" + string(cp) + "b "
			w := c.tk.Encode(word)
			if at+len(w) > len(ids) || !slices.Equal(w, ids[at:at+len(w)]) {
				end := min(len(ids), at+len(w)+2)
				r.mismatch("sweep string %d: first difference at U+%04X (%q in %q): got %s, want (from there) %s",
					k, cp, string(cp), word, c.tokens(w), c.tokens(ids[at:end]))
				found = true
			}
			at += len(w)
		}
		if !found {
			r.mismatch("sweep string %d: word by word equal but whole string differs: got %d ids, want %d", k, len(got), len(ids))
		}
	}
}

func (c *checker) data(t *testing.T, r *reporter, dataDir string, d Data) {
	texts, err := DataTexts(dataDir, d.Source)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != len(d.TextHashes) {
		t.Fatalf("parity: %s: %d texts rebuilt from %s, the fixture has %d (data or extraction rules changed)", d.Source, len(texts), dataDir, len(d.TextHashes))
	}
	counts := mustFor(t, d.Counts, c.model, "token counts of "+d.Source)
	hashes := mustFor(t, d.IDHashes, c.model, "id hashes of "+d.Source)
	for i, text := range texts {
		if h := TextHash(text); h != d.TextHashes[i] {
			t.Fatalf("parity: %s text %d %s: hash %s, the fixture has %s (data or extraction rules changed)", d.Source, i, quote(text, 200), h, d.TextHashes[i])
		}
		if c.skip(r, text) {
			continue
		}
		r.Compared++
		got := c.tk.Encode(text)
		if len(got) != counts[i] || IntsHash(got) != hashes[i] {
			r.mismatch("%s text %d %s:\n got %d tokens %s\nwant %d tokens (hash %s; models/tokenizer/parity/make_fixtures.py --show TEXT prints them)",
				d.Source, i, quote(text, 400), len(got), c.tokens(got), counts[i], hashes[i])
		}
	}
}

// encodeRows encodes texts (seconds nil) or pairs in batches of batch rows as Hugging Face did
// for the fixture.
func (c *checker) encodeRows(firsts, seconds []string, lo, hi, maxLen, multiple int) (*tokenizer.Batch, error) {
	if seconds == nil {
		return tokenizer.EncodeBatch(c.tk, firsts[lo:hi], maxLen, tokenizer.WithPadToMultiple(multiple))
	}
	return tokenizer.EncodePairBatch(c.tk, firsts[lo:hi], seconds[lo:hi], maxLen, tokenizer.WithPadToMultiple(multiple))
}

// batches calls fn for every batch [lo, hi) whose texts are not skipped; with padding to a
// multiple a skipped text skips its whole batch (its row may change the batch's length).
func (c *checker) batches(t *testing.T, r *reporter, firsts, seconds []string, batch, multiple int, fn func(lo, hi int, skipped []bool)) {
	if batch <= 0 {
		t.Fatalf("parity: batch size %d", batch)
	}
	for lo := 0; lo < len(firsts); lo += batch {
		hi := min(lo+batch, len(firsts))
		skipped := make([]bool, hi-lo)
		any := false
		for i := lo; i < hi; i++ {
			texts := []string{firsts[i]}
			if seconds != nil {
				texts = append(texts, seconds[i])
			}
			skipped[i-lo] = c.skip(r, texts...)
			any = any || skipped[i-lo]
		}
		if any && multiple > 0 {
			for _, s := range skipped {
				if !s {
					r.Skipped++ // the rows of a skipped batch
				}
			}
			continue
		}
		fn(lo, hi, skipped)
	}
}

func (c *checker) pairs(t *testing.T, r *reporter, p Pairs) {
	firsts, seconds := p.A, p.B
	if p.Single {
		seconds = nil
		for _, s := range c.fix.Singles {
			if s.Set == p.Set {
				firsts = s.Texts
			}
		}
	}
	want := mustFor(t, p.Rows, c.model, "rows")
	if len(want) != len(firsts) || (seconds != nil && len(seconds) != len(firsts)) {
		t.Fatalf("parity: %d rows for %d texts", len(want), len(firsts))
	}
	c.batches(t, r, firsts, seconds, p.Batch, p.PadMultiple, func(lo, hi int, skipped []bool) {
		b, err := c.encodeRows(firsts, seconds, lo, hi, p.MaxLen, p.PadMultiple)
		if err != nil {
			t.Fatalf("rows %d–%d: %v", lo, hi, err)
		}
		for i := lo; i < hi; i++ {
			if skipped[i-lo] {
				continue
			}
			r.Compared++
			ids, types, mask := b.Row(i - lo)
			w := want[i]
			if !slices.Equal(toInts(ids), w[0]) || !slices.Equal(toInts(types), w[1]) || !slices.Equal(toInts(mask), w[2]) {
				what := fmt.Sprintf("text %s", quote(firsts[i], 200))
				if seconds != nil {
					what = fmt.Sprintf("pair (%s, %s)", quote(firsts[i], 200), quote(seconds[i], 200))
				}
				r.mismatch("row %d, %s, max_len %d, multiple %d:\n got ids %v\n     types %v\n     mask %v\nwant ids %v\n     types %v\n     mask %v",
					i, what, p.MaxLen, p.PadMultiple, toInts(ids), toInts(types), toInts(mask), w[0], w[1], w[2])
			}
		}
	})
}

func (c *checker) dataPairs(t *testing.T, r *reporter, dataDir string, p DataPairs) {
	firsts, seconds, err := DataPairTexts(dataDir, p)
	if err != nil {
		t.Fatal(err)
	}
	want := mustFor(t, p.RowHashes, c.model, "row hashes")
	if len(want) != len(firsts) {
		t.Fatalf("parity: %d row hashes for %d texts", len(want), len(firsts))
	}
	c.batches(t, r, firsts, seconds, p.Batch, p.PadMultiple, func(lo, hi int, skipped []bool) {
		b, err := c.encodeRows(firsts, seconds, lo, hi, p.MaxLen, p.PadMultiple)
		if err != nil {
			t.Fatalf("rows %d–%d: %v", lo, hi, err)
		}
		for i := lo; i < hi; i++ {
			if skipped[i-lo] {
				continue
			}
			r.Compared++
			ids, types, mask := b.Row(i - lo)
			if IntsHash(ids, types, mask) != want[i] {
				what := fmt.Sprintf("text %s", quote(firsts[i], 200))
				if seconds != nil {
					what = fmt.Sprintf("pair (%s, %s)", quote(firsts[i], 200), quote(seconds[i], 200))
				}
				r.mismatch("row %d, %s, max_len %d, multiple %d: hash differs; got ids %v types %v mask %v",
					i, what, p.MaxLen, p.PadMultiple, ids, types, mask)
			}
		}
	})
}

func toInts(xs []int32) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}
