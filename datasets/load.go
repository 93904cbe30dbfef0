package datasets

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mimicry-ir/mimicry/internal/files"
)

// DefaultSyntheticSeed is the seed Load uses for the bare spec "synthetic".
const DefaultSyntheticSeed int64 = 42

// LoadSpecs lists the collection specs Load accepts, for help texts and error messages.
var LoadSpecs = []string{
	"synthetic               the built-in synthetic collection (seed 42)",
	"synthetic:<seed>        the synthetic collection with another seed",
	"synthetic:seed=<n>,entities=<n>,train=<n>,eval=<n>  a synthetic world of another size (any subset of the keys)",
	"smart:<dir>             a classic SMART-style test collection (Cranfield, CACM, CISI, MEDLINE, ADI, NPL, TIME)",
	"smart:<docs>,<queries>,<qrels>  the three files of a dotted (.I/.T/.W) collection",
	"beir:<dir>[:<split>]    a BEIR dataset directory; split of qrels/<split>.tsv, default test",
	"msmarco:<dir>           MS MARCO passage ranking files (collection.tsv, queries.*.tsv, qrels.*.tsv)",
}

// Load reads the collection a spec names. The accepted specs are:
//
//	synthetic               the synthetic collection of Synthetic(42)
//	synthetic:<seed>        Synthetic(seed)
//	synthetic:<k>=<v>,…     SyntheticWith of the keys seed, entities (per kind), train and eval
//	                        (query counts), e.g. "synthetic:entities=400,train=7200"
//	smart:<dir>             LoadSMART(dir): Cranfield, CACM, CISI, MEDLINE, ADI, NPL or TIME files in dir
//	smart:<d>,<q>,<r>       LoadSMARTFiles of the documents, queries and relevance files named (dotted
//	                        layout and detected relevance format, unless <d> has a known name)
//	beir:<dir>[:<split>]    LoadBEIR(dir, split), split defaulting to "test"; split "train-dev" is
//	                        LoadBEIR(dir, "train") turned into DevSplit(DevSplitFraction, DevSplitSeed)
//	msmarco:<dir>           LoadMSMARCO(dir)
//
// In "beir:<dir>:<split>" the split is the text after the last colon when that text holds no path
// separator, so Windows paths such as "beir:C:\data\scifact" still work. Any other spec is an error
// that lists the accepted forms.
func Load(spec string) (*Collection, error) {
	kind, arg, hasArg := strings.Cut(spec, ":")
	switch kind {
	case "synthetic":
		o, err := parseSyntheticSpec(arg, hasArg)
		if err != nil {
			return nil, fmt.Errorf("datasets: spec %q: %w", spec, err)
		}
		return SyntheticWith(o)
	case "smart":
		if arg == "" {
			break
		}
		f, err := smartFilesFromSpec(arg)
		if err != nil {
			return nil, err
		}
		return LoadSMARTFiles(f)
	case "beir":
		if arg == "" {
			break
		}
		dir, split := arg, ""
		if i := strings.LastIndexByte(arg, ':'); i > 0 && !strings.ContainsAny(arg[i+1:], `/\`) {
			dir, split = arg[:i], arg[i+1:]
			if split == "" {
				return nil, fmt.Errorf("datasets: spec %q: empty split after the last colon", spec)
			}
		}
		if split == TrainDevSplit {
			c, err := LoadBEIR(dir, "train")
			if err != nil {
				return nil, err
			}
			return c.DevSplit(DevSplitFraction, DevSplitSeed)
		}
		return LoadBEIR(dir, split)
	case "msmarco":
		if arg == "" {
			break
		}
		return LoadMSMARCO(arg)
	}
	msg := fmt.Sprintf("datasets: unknown collection spec %q; accepted forms:\n  %s", spec, strings.Join(LoadSpecs, "\n  "))
	if fi, err := os.Stat(spec); err == nil && fi.IsDir() {
		msg += fmt.Sprintf("\n(%q is a directory: prefix it with smart:, beir: or msmarco: to say what it holds)", spec)
	}
	return nil, errors.New(msg)
}

// ReadFile opens path and hands its content to read, together with the name to use in error messages
// (the path itself). A path ending in ".gz" is decompressed on the fly, so the readers of this package
// work unchanged on msmarco-hard-negatives.jsonl.gz and the like. Use it to stream any reader of this
// package over a file:
//
//	err := datasets.ReadFile(path, func(r io.Reader, name string) error {
//		return datasets.ReadMSMARCOCollection(r, name, func(d datasets.Document) error { ...; return nil })
//	})
func ReadFile(path string, read func(r io.Reader, name string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<20)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return &ParseError{Path: path, Msg: "not a gzip file: " + err.Error(), Err: err}
		}
		defer zr.Close()
		r = zr
	}
	return read(r, path)
}

// loadAll reads every record of a file (gzip-compressed when its name ends in ".gz") with a
// record reader of this package.
func loadAll[T any](path string, read func(r io.Reader, name string, fn func(T) error) error) ([]T, error) {
	var out []T
	err := ReadFile(path, func(r io.Reader, name string) error {
		return read(r, name, func(v T) error {
			out = append(out, v)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// WriteFileAtomic writes a file through write, atomically (files.Write: nothing appears at path
// unless write and the final flush succeed). A path ending in ".gz" is written gzip-compressed.
// Content that would start with a UTF-8 byte-order mark gets a second one, since the readers of this
// package drop one. The file gets mode 0644 (before umask).
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	return files.Write(path, 0o644, func(w io.Writer) error {
		if !strings.HasSuffix(path, ".gz") {
			return write(&bomEscaper{w: w})
		}
		zw := gzip.NewWriter(w)
		if err := write(&bomEscaper{w: zw}); err != nil {
			return err
		}
		return zw.Close()
	})
}

// collectionName returns a short name for a collection read from dir.
func collectionName(dir string) string {
	base := filepath.Base(filepath.Clean(dir))
	if base == "." || base == string(filepath.Separator) {
		return dir
	}
	return base
}

// parseSyntheticSpec reads the part of a "synthetic" spec after the colon: a seed, or a
// comma-separated list of key=value sizes (SyntheticOptions.Spec writes this form).
func parseSyntheticSpec(arg string, hasArg bool) (SyntheticOptions, error) {
	o := SyntheticOptions{Seed: DefaultSyntheticSeed}
	if !hasArg {
		return o, nil
	}
	if !strings.Contains(arg, "=") {
		seed, err := strconv.ParseInt(arg, 10, 64)
		if err != nil {
			return o, fmt.Errorf("seed %q is not an integer", arg)
		}
		o.Seed = seed
		return o, nil
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(arg, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return o, fmt.Errorf("%q is not key=value (keys: seed, entities, train, eval)", kv)
		}
		if seen[k] {
			return o, fmt.Errorf("key %q given twice", k)
		}
		seen[k] = true
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return o, fmt.Errorf("%s=%q is not an integer", k, v)
		}
		if k != "seed" && (n <= 0 || n > 1<<30) {
			return o, fmt.Errorf("%s=%d must be positive", k, n)
		}
		switch k {
		case "seed":
			o.Seed = n
		case "entities":
			o.EntitiesPerKind = int(n)
		case "train":
			o.TrainQueries = int(n)
		case "eval":
			o.EvalQueries = int(n)
		default:
			return o, fmt.Errorf("unknown key %q (keys: seed, entities, train, eval)", k)
		}
	}
	return o, nil
}
