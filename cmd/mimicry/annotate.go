package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/mimicry-ir/mimicry/datasets"
	"github.com/mimicry-ir/mimicry/datasets/bm25"
	"github.com/mimicry-ir/mimicry/distill/annotate"
	"github.com/mimicry-ir/mimicry/distill/score"
	"github.com/mimicry-ir/mimicry/distill/teacher"
	"github.com/mimicry-ir/mimicry/models/backend"
	"github.com/mimicry-ir/mimicry/models/tokenizer"
)

func init() {
	register(&command{
		name:    "annotate",
		summary: "score (query, passage) pairs with the teacher once and write the answer key (resumable, shardable)",
		run:     runAnnotate,
	})
	register(&command{
		name:    "annotate merge",
		summary: "merge answer keys (e.g. the shards of `annotate --shard i/n`) into one",
		run:     runAnnotateMerge,
	})
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// runAnnotate implements `mimicry annotate --teacher DIR --pairs FILE --out FILE`.
func runAnnotate(args []string) error {
	fs := newFlags("annotate", "annotate --teacher DIR|bm25 [--teacher ...] (--pairs FILE [--format F] | --bm25-top K) --out FILE\n                        [--data SPEC] [--shard i/n] [--batch 32] [--max-len 212] [--chunk 4096]", `
Scores every pair once with the teacher and writes the answer key ({"qid","pid","score"} JSONL) with a
.meta.json sidecar (teacher, checkpoint SHA-256, tokenizer, lengths, collection, pair count). Chunks of
--chunk pairs are written to FILE.parts/ as they are done: if the run is killed, rerun the same command
and it continues where it stopped; the key holds every pair exactly once.

--data is needed to look up texts by id (kd and candidates files, negatives files without --texts, 
--bm25-top); with --teacher bm25 it also supplies BM25's statistics (without it: per-pair BM25), and
teachers trained with --bm25-residual or --mark-rare-df need it for theirs.`)
	var teachers stringList
	fs.Var(&teachers, "teacher", "cross-encoder folder (Hugging Face layout; DIR/model/ is used when present), or bm25; repeat for an ensemble (mean score)")
	pairsPath := fs.String("pairs", "", "the pairs to score: a `mimicry negatives` JSONL, a PyLate KD JSONL or a qid<TAB>pid candidates file (.gz ok)")
	format := fs.String("format", "auto", "format of --pairs: auto, negatives, kd or candidates")
	data := fs.String("data", "", "collection spec (texts of ids; BM25 statistics): "+strings.Join(datasetSpecNames(), ", "))
	bm25Top := fs.Int("bm25-top", 0, "instead of --pairs, score the top K BM25 results of the collection's queries")
	querySet := fs.String("queries", "train", "with --bm25-top: the queries to use: train, eval or all")
	out := fs.String("out", "", "write the answer key to this JSONL file (and FILE.meta.json)")
	shardFlag := fs.String("shard", "0/1", "annotate only shard i of n (chunk c belongs to shard c mod n); merge with `mimicry annotate merge`")
	batch := fs.Int("batch", score.DefaultBatchSize, "pairs per forward pass of a cross-encoder teacher")
	maxLen := fs.Int("max-len", tokenizer.PairMaxLen, "pair length limit of a cross-encoder teacher, in tokens")
	chunk := fs.Int("chunk", annotate.DefaultChunkSize, "pairs per chunk: the unit that is scored, written and resumed")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.parse(args); err != nil {
		return err
	}
	if len(teachers) == 0 || *out == "" || (*pairsPath == "") == (*bm25Top <= 0) {
		fs.Usage()
		return errors.New("--teacher, --out and one of --pairs or --bm25-top are required")
	}
	shard, err := annotate.ParseShard(*shardFlag)
	if err != nil {
		return err
	}
	if *batch <= 0 || *maxLen <= 0 || *chunk <= 0 {
		return errors.New("--batch, --max-len and --chunk must be positive")
	}

	// The collection, when given: texts and BM25.
	var c *datasets.Collection
	var texts, queries map[string]string
	var ix *bm25.Index
	meta := datasets.AnswerKeyMeta{Extra: map[string]string{}}
	if *data != "" {
		if c, err = datasets.Load(*data); err != nil {
			return err
		}
		texts, queries = score.Texts(c.Docs), c.QueryTexts()
		meta.Collection = collectionLabel(c, *data)
		needIndex := *bm25Top > 0 || slices.Contains(teachers, "bm25")
		if needIndex {
			if ix, err = bm25.Build(c.Docs, bm25.Config{}); err != nil {
				return err
			}
		}
	}

	// The pairs.
	var src annotate.PairSource
	if *bm25Top > 0 {
		if c == nil {
			return errors.New("--bm25-top needs --data")
		}
		var qs []datasets.Query
		switch *querySet {
		case "train":
			qs = c.TrainQueries
		case "eval":
			qs = c.Queries
		case "all":
			qs = append(slices.Clone(c.TrainQueries), c.Queries...)
		default:
			return fmt.Errorf("--queries %q: want train, eval or all", *querySet)
		}
		if len(qs) == 0 {
			return fmt.Errorf("%s has no %s queries (try --queries eval, or --pairs with a `mimicry negatives` file)", meta.Collection, *querySet)
		}
		src = annotate.BM25Pairs(ix, qs, texts, *bm25Top)
		meta.Extra["source"] = fmt.Sprintf("bm25-top:%d:%s", *bm25Top, *querySet)
	} else {
		f := *format
		if f == "auto" {
			if f, err = detectPairsFormat(*pairsPath); err != nil {
				return err
			}
		}
		if f != "negatives" && c == nil {
			return fmt.Errorf("--format %s needs --data (texts are looked up by id)", f)
		}
		switch f {
		case "negatives":
			src = annotate.NegativesPairs(*pairsPath, texts)
		case "kd":
			src = annotate.KDPairs(*pairsPath, queries, texts)
		case "candidates":
			src = annotate.CandidatePairs(*pairsPath, queries, texts)
		default:
			return fmt.Errorf("--format %q: want auto, negatives, kd or candidates", f)
		}
		meta.Extra["source"] = f + ":" + filepath.Base(*pairsPath)
	}

	// The teacher(s).
	var be backends.Backend
	var members score.Ensemble
	var hashes, toks []string
	usesModel := false
	for _, t := range teachers {
		if t == "bm25" {
			members = append(members, &score.BM25{Index: ix})
			continue
		}
		if be == nil {
			if be, err = backend.Default(); err != nil {
				return err
			}
		}
		ce, info, err := teacher.Load(t, be, *maxLen, *batch)
		if err != nil {
			return err
		}
		if c != nil {
			if err := ce.UseCollection(c); err != nil {
				return err
			}
		} else if teacher.NeedsCollection(ce.Model.Config) {
			return fmt.Errorf("teacher %s reads BM25 statistics of the collection it scores (config.json's mimicry_bm25_weight or mimicry_mark_rare_df): give it with --data", t)
		}
		members = append(members, ce)
		hashes = append(hashes, info.WeightsSHA256)
		if !slices.Contains(toks, info.Tokenizer) {
			toks = append(toks, info.Tokenizer)
		}
		usesModel = true
	}
	var teacher score.Scorer = members
	if len(members) == 1 {
		teacher = members[0]
	}
	meta.Teacher = teacher.Name()
	meta.CheckpointSHA256 = strings.Join(hashes, ",")
	meta.Tokenizer = strings.Join(toks, ",")
	if usesModel {
		meta.MaxDocLength = *maxLen
		meta.Extra["batch_size"] = strconv.Itoa(*batch)
	}

	sum, err := annotate.Run(annotate.Options{
		Teacher: teacher, Pairs: src, Out: *out, Meta: meta, ChunkSize: *chunk, Shard: shard, Quiet: *quiet,
	})
	if err != nil {
		if c == nil && strings.Contains(err.Error(), "has no text") {
			err = fmt.Errorf("%w (give the collection with --data)", err)
		}
		return err
	}
	fmt.Fprintln(os.Stdout, "annotate:", sum)
	return nil
}

// detectPairsFormat tells the format of a pairs file from its first non-blank line: a JSON object with
// "positives" (negatives) or "document_ids" (kd), anything else candidates.
func detectPairsFormat(path string) (string, error) {
	format := ""
	errFound := errors.New("found")
	err := datasets.ReadFile(path, func(r io.Reader, name string) error {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), datasets.MaxLineBytes)
		for sc.Scan() {
			line := bytes.TrimSpace(bytes.TrimPrefix(sc.Bytes(), []byte("\xef\xbb\xbf")))
			if len(line) == 0 {
				continue
			}
			format = "candidates"
			if line[0] == '{' {
				var probe map[string]json.RawMessage
				if err := json.Unmarshal(line, &probe); err != nil {
					return fmt.Errorf("%s: first line: invalid JSON: %v", name, err)
				}
				switch {
				case probe["positives"] != nil || probe["negatives"] != nil:
					format = "negatives"
				case probe["document_ids"] != nil:
					format = "kd"
				default:
					return fmt.Errorf("%s: first line is JSON but neither a `mimicry negatives` group nor a PyLate KD example: say --format", name)
				}
			}
			return errFound
		}
		return sc.Err()
	})
	if err != nil && !errors.Is(err, errFound) {
		return "", err
	}
	if format == "" {
		return "", fmt.Errorf("%s: no pairs (empty file)", path)
	}
	return format, nil
}

// runAnnotateMerge implements `mimicry annotate merge --out FILE INPUT...`.
func runAnnotateMerge(args []string) error {
	fs := newFlags("annotate merge", "annotate merge --out FILE INPUT...", "Merges answer keys made by the same teacher (their .meta.json must agree) into one, checking that no\n(qid, pid) appears twice. The shards of one `mimicry annotate --shard i/n` job come back in the order\nof an unsharded run; other keys are concatenated in the order given.")
	out := fs.String("out", "", "write the merged answer key to this file (and FILE.meta.json)")
	if err := fs.parse(args, true); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		fs.Usage()
		return errors.New("--out and at least one input are required")
	}
	if err := annotate.Merge(*out, fs.Args()); err != nil {
		return err
	}
	meta, err := datasets.ReadAnswerKeyMeta(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "annotate merge: %d keys → %s (%d pairs, teacher %s)\n", fs.NArg(), *out, meta.Pairs, meta.Teacher)
	return nil
}
