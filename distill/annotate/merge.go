package annotate

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mimicry-ir/mimicry/datasets"
)

// perRunExtra are the Extra keys that differ between the shards of one job; Merge ignores
// them when comparing metadata.
var perRunExtra = []string{"shard", "run_sha256", "shards"}

// Merge merges answer keys into out (with its sidecar), atomically. The inputs must have
// sidecars with the same teacher, checkpoint, tokenizer, lengths, collection and Extra (but for the
// per-shard "shard" and "run_sha256"), hold as many pairs as their sidecars say, and no (qid, pid) may
// appear twice among them. When every input is a shard of the same Run job (Extra "shard" i/n,
// the same n, different i), their chunks are interleaved back into the order of an unsharded run (for
// the complete set of n shards, the very rows of that run); other inputs are concatenated in the order
// given. The check for repeated pairs holds 8 bytes per pair in memory.
func Merge(out string, inputs []string) error {
	if len(inputs) == 0 {
		return errors.New("merge: no input")
	}
	metas := make([]*datasets.AnswerKeyMeta, len(inputs))
	for i, in := range inputs {
		m, err := datasets.ReadAnswerKeyMeta(in)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("merge: %s has no metadata sidecar %s, so its teacher is unknown", in, datasets.AnswerKeyMetaPath(in))
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		metas[i] = m
		if i > 0 {
			if err := compatible(inputs[0], metas[0], in, m); err != nil {
				return err
			}
		}
	}

	// Shards of one job are interleaved chunk by chunk.
	order := slices.Clone(inputs)
	chunkSize := 0
	shards, err := shardsOf(inputs, metas)
	if err != nil {
		return err
	}
	merged := *metas[0]
	merged.Extra = cloneMap(merged.Extra)
	for _, k := range perRunExtra {
		delete(merged.Extra, k)
	}
	merged.Created = time.Now().UTC().Format(time.RFC3339)
	if shards != nil {
		chunkSize, _ = strconv.Atoi(metas[0].Extra["chunk_size"])
		idx := make([]int, len(inputs))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return shards[a].Index - shards[b].Index })
		var have []string
		for j, i := range idx {
			order[j] = inputs[i]
			have = append(have, strconv.Itoa(shards[i].Index))
		}
		if len(inputs) < shards[0].Count {
			merged.Extra["shards"] = strings.Join(have, ",") + "/" + strconv.Itoa(shards[0].Count)
		}
		if chunkSize <= 0 {
			return fmt.Errorf("merge: %s: Extra \"chunk_size\" %q is not a positive integer", inputs[0], metas[0].Extra["chunk_size"])
		}
	}

	// Counts and repeated pairs.
	var hashes []uint64
	for i, in := range inputs {
		var n int64
		err := readKey(in, func(p datasets.ScoredPair) error {
			hashes = append(hashes, pairHash(p))
			n++
			return nil
		})
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
		if n != metas[i].Pairs {
			return fmt.Errorf("merge: %s holds %d pairs but %s says %d (truncated or edited?)", in, n, datasets.AnswerKeyMetaPath(in), metas[i].Pairs)
		}
	}
	if err := findRepeats(inputs, hashes); err != nil {
		return err
	}
	hashes = nil

	w, err := datasets.CreateAnswerKey(out, merged)
	if err != nil {
		return err
	}
	if err := mergeRows(order, chunkSize, w.Write); err != nil {
		w.Abort()
		return fmt.Errorf("merge: %w", err)
	}
	return w.Close()
}

// compatible checks that two keys' metadata describe the same teacher and setup.
func compatible(pa string, a *datasets.AnswerKeyMeta, pb string, b *datasets.AnswerKeyMeta) error {
	fields := []struct{ name, x, y string }{
		{"format", a.Format, b.Format},
		{"teacher", a.Teacher, b.Teacher},
		{"checkpoint_sha256", a.CheckpointSHA256, b.CheckpointSHA256},
		{"tokenizer", a.Tokenizer, b.Tokenizer},
		{"max_query_length", strconv.Itoa(a.MaxQueryLength), strconv.Itoa(b.MaxQueryLength)},
		{"max_doc_length", strconv.Itoa(a.MaxDocLength), strconv.Itoa(b.MaxDocLength)},
		{"collection", a.Collection, b.Collection},
	}
	keys := map[string]bool{}
	for k := range a.Extra {
		keys[k] = true
	}
	for k := range b.Extra {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !slices.Contains(perRunExtra, k) {
			fields = append(fields, struct{ name, x, y string }{"extra." + k, a.Extra[k], b.Extra[k]})
		}
	}
	for _, f := range fields {
		if f.x != f.y {
			return fmt.Errorf("merge: %s and %s are not compatible: %s %q vs %q", pa, pb, f.name, f.x, f.y)
		}
	}
	return nil
}

// shardsOf returns the shard of each input when all are distinct shards of one job, else nil.
func shardsOf(inputs []string, metas []*datasets.AnswerKeyMeta) ([]Shard, error) {
	shards := make([]Shard, len(inputs))
	for i, m := range metas {
		s, ok := m.Extra["shard"]
		if !ok {
			return nil, nil
		}
		sh, err := ParseShard(s)
		if err != nil {
			return nil, fmt.Errorf("merge: %s: Extra \"shard\": %w", datasets.AnswerKeyMetaPath(inputs[i]), err)
		}
		shards[i] = sh
		for j := range i {
			if shards[j].Count != sh.Count {
				return nil, fmt.Errorf("merge: %s is shard %s but %s is shard %s", inputs[j], shards[j], inputs[i], sh)
			}
			if shards[j].Index == sh.Index {
				return nil, fmt.Errorf("merge: %s and %s are both shard %s", inputs[j], inputs[i], sh)
			}
		}
	}
	return shards, nil
}

// readKey streams the pairs of an answer key file.
func readKey(path string, fn func(datasets.ScoredPair) error) error {
	return datasets.ReadFile(path, func(r io.Reader, name string) error {
		return datasets.ReadAnswerKey(r, name, fn)
	})
}

// pairHash is a 64-bit hash of (qid, pid).
func pairHash(p datasets.ScoredPair) uint64 {
	h := fnv.New64a()
	io.WriteString(h, p.QueryID)
	h.Write([]byte{0})
	io.WriteString(h, p.DocID)
	return h.Sum64()
}

// findRepeats reports a (qid, pid) that appears twice in the inputs, given the hash of every row in
// input order: candidates are hashes that occur twice, confirmed (hashes collide) by a second read.
func findRepeats(inputs []string, hashes []uint64) error {
	sorted := slices.Clone(hashes)
	slices.Sort(sorted)
	suspects := map[uint64]bool{}
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			suspects[sorted[i]] = true
		}
	}
	if len(suspects) == 0 {
		return nil
	}
	type loc struct {
		file string
		row  int
	}
	first := map[[2]string]loc{}
	for _, in := range inputs {
		row := 0
		errFound := errors.New("found")
		var msg string
		err := readKey(in, func(p datasets.ScoredPair) error {
			row++
			if !suspects[pairHash(p)] {
				return nil
			}
			k := [2]string{p.QueryID, p.DocID}
			if l, ok := first[k]; ok {
				msg = fmt.Sprintf("merge: pair (qid %q, pid %q) appears twice: %s pair %d and %s pair %d", p.QueryID, p.DocID, l.file, l.row, in, row)
				return errFound
			}
			first[k] = loc{in, row}
			return nil
		})
		if errors.Is(err, errFound) {
			return errors.New(msg)
		}
		if err != nil {
			return fmt.Errorf("merge: %w", err)
		}
	}
	return nil
}

// mergeRows writes the rows of the inputs in order: concatenated when chunkSize is 0, else
// round-robin, chunkSize rows of each input in turn.
func mergeRows(inputs []string, chunkSize int, write func(datasets.ScoredPair) error) error {
	if chunkSize == 0 {
		for _, in := range inputs {
			if err := readKey(in, write); err != nil {
				return err
			}
		}
		return nil
	}
	type puller struct {
		next func() (datasets.ScoredPair, error, bool)
		stop func()
		done bool
	}
	ps := make([]*puller, len(inputs))
	for i, in := range inputs {
		next, stop := iter.Pull2(keyRows(in))
		defer stop()
		ps[i] = &puller{next: next, stop: stop}
	}
	for live := len(ps); live > 0; {
		live = 0
		for _, p := range ps {
			for n := 0; n < chunkSize && !p.done; n++ {
				sp, err, ok := p.next()
				if !ok {
					p.done = true
					break
				}
				if err != nil {
					return err
				}
				if err := write(sp); err != nil {
					return err
				}
			}
			if !p.done {
				live++
			}
		}
	}
	return nil
}

// keyRows iterates over the rows of an answer key file; a read error is the last item.
func keyRows(path string) iter.Seq2[datasets.ScoredPair, error] {
	return func(yield func(datasets.ScoredPair, error) bool) {
		errStop := errors.New("stop")
		err := readKey(path, func(p datasets.ScoredPair) error {
			if !yield(p, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield(datasets.ScoredPair{}, err)
		}
	}
}
