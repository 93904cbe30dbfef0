package datasets

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestReadMSMARCOCollection(t *testing.T) {
	in := "\ufeff0\tThe presence of communication amid scientific minds.\r\n1\t\n\n2\tunicode é ü\n"
	var docs []Document
	err := ReadMSMARCOCollection(strings.NewReader(in), "collection.tsv", func(d Document) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []Document{{ID: "0", Text: "The presence of communication amid scientific minds."}, {ID: "1"}, {ID: "2", Text: "unicode é ü"}}
	if !reflect.DeepEqual(docs, want) {
		t.Fatalf("got %#v", docs)
	}
	for _, c := range []struct {
		in     string
		line   int
		substr string
	}{
		{"0\tok\n1 no tab\n", 2, "found no tab"},
		{"0\ta\tb\n", 1, "got 3"},
		{"\ttext\n", 1, "empty passage id"},
		{"1 2\ttext\n", 1, "holds white space"},
		{"\t\n", 1, "empty passage id"},
	} {
		err := ReadMSMARCOCollection(strings.NewReader(c.in), "collection.tsv", func(Document) error { return nil })
		wantParseError(t, err, c.line, c.substr)
	}
	// The callback's error comes back unchanged and stops reading.
	stop := errors.New("stop")
	n := 0
	err = ReadMSMARCOCollection(strings.NewReader("1\ta\n2\tb\n"), "c", func(Document) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("callback error: %v after %d", err, n)
	}
}

func TestReadMSMARCOLongLine(t *testing.T) {
	long := "1\t" + strings.Repeat("x", MaxLineBytes+10) + "\n"
	err := ReadMSMARCOCollection(strings.NewReader("0\tshort\n"+long), "collection.tsv", func(Document) error { return nil })
	wantParseError(t, err, 2, "line longer than")
}

func TestMSMARCOTriples(t *testing.T) {
	read := func(format TripleFormat, in string) ([]Triple, error) {
		var ts []Triple
		err := ReadMSMARCOTriples(strings.NewReader(in), "triples.tsv", format, func(tr Triple) error {
			ts = append(ts, tr)
			return nil
		})
		return ts, err
	}
	ts, err := read(TriplesAuto, "400296\t1540783\t3518497\n662731\t193249\t2975302\n")
	if err != nil || !reflect.DeepEqual(ts[1], Triple{QueryID: "662731", PosID: "193249", NegID: "2975302"}) {
		t.Fatalf("ids: %v %v", ts, err)
	}
	ts, err = read(TriplesAuto, "is a little caffeine ok\tCaffeine is fine.\tA goat .\n")
	if err != nil || !reflect.DeepEqual(ts[0], Triple{Query: "is a little caffeine ok", Pos: "Caffeine is fine.", Neg: "A goat ."}) {
		t.Fatalf("texts: %v %v", ts, err)
	}
	_, err = read(TriplesAuto, "1\t2\t3\nsome query\tpos\tneg\n")
	wantParseError(t, err, 2, "want three ids")
	_, err = read(TriplesText, "a\tb\n")
	wantParseError(t, err, 1, "want 3 tab-separated columns")

	dir := t.TempDir()
	for _, c := range []struct {
		format TripleFormat
		ts     []Triple
	}{
		{TriplesIDs, []Triple{{QueryID: "1", PosID: "2", NegID: "3"}}},
		{TriplesText, []Triple{{Query: "q", Pos: "p p", Neg: ""}}},
	} {
		p := filepath.Join(dir, "t.tsv")
		if err := WriteMSMARCOTriples(p, c.ts, TriplesAuto); err != nil {
			t.Fatal(err)
		}
		got, err := LoadMSMARCOTriples(p, c.format)
		if err != nil || !reflect.DeepEqual(got, c.ts) {
			t.Fatalf("round trip %v: %v %v", c.ts, got, err)
		}
	}
	if err := WriteMSMARCOTriples(filepath.Join(dir, "bad"), []Triple{{Query: "a\tb"}}, TriplesText); err == nil {
		t.Fatal("tab in text accepted")
	}
}

func TestLoadMSMARCO(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "collection.tsv", "0\tzero\n1\tone\n2\ttwo\n")
	writeFile(t, dir, "queries.dev.small.tsv", "100\twhat is one\n101\tunjudged\n")
	writeFile(t, dir, "qrels.dev.small.tsv", "100\t0\t1\t1\n")
	writeFile(t, dir, "queries.train.tsv", "200\twhat is two\n")
	writeFile(t, dir, "qrels.train.tsv", "200\t0\t2\t1\n")
	c, err := Load("msmarco:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 3 || len(c.Queries) != 2 || c.Qrels["100"]["1"] != 1 || len(c.TrainQueries) != 1 || c.TrainQrels["200"]["2"] != 1 {
		t.Fatalf("got %+v", c)
	}
	writeFile(t, dir, "collection.tsv", "0\tzero\n0\tagain\n")
	_, err = LoadMSMARCO(dir)
	wantParseError(t, err, 2, `duplicate passage id "0"`)

	empty := t.TempDir()
	writeFile(t, empty, "collection.tsv", "0\tzero\n")
	if _, err := LoadMSMARCO(empty); err == nil || !strings.Contains(err.Error(), "queries.dev.small.tsv") {
		t.Fatalf("missing queries: %v", err)
	}
}

func TestMSMARCOWriteRoundTrip(t *testing.T) {
	dir := t.TempDir()
	docs := []Document{{ID: "7", Text: "  spaced  "}, {ID: "8", Title: "Title", Text: "body"}}
	p := filepath.Join(dir, "collection.tsv.gz")
	if err := WriteMSMARCOCollection(p, docs); err != nil {
		t.Fatal(err)
	}
	got, err := LoadMSMARCOCollection(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Document{{ID: "7", Text: "  spaced  "}, {ID: "8", Text: "Title body"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v", got)
	}
	qp := filepath.Join(dir, "queries.tsv")
	if err := WriteMSMARCOQueries(qp, []Query{{ID: "1", Text: "q"}}); err != nil {
		t.Fatal(err)
	}
	if qs, err := LoadMSMARCOQueries(qp); err != nil || qs[0] != (Query{ID: "1", Text: "q"}) {
		t.Fatalf("queries: %v %v", qs, err)
	}
	for _, bad := range []Document{{ID: "1", Text: "a\nb"}, {ID: "1 2", Text: "x"}, {ID: "", Text: "x"}} {
		if err := WriteMSMARCOCollection(filepath.Join(dir, "bad.tsv"), []Document{bad}); err == nil {
			t.Errorf("%#v accepted", bad)
		}
	}
}

func FuzzMSMARCOCollection(f *testing.F) {
	f.Add([]byte("0\tThe presence of communication amid scientific minds was equally important to the success of the Manhattan Project as scientific intellect.\n1\tThe Manhattan Project and its atomic bomb helped bring an end to World War II.\n"))
	f.Add([]byte("\ufeff7\t  x \r\n\n8\t\n"))
	f.Add([]byte("1\ta\rb\n"))
	read := func(r *bytes.Buffer) ([]Document, error) {
		var docs []Document
		err := ReadMSMARCOCollection(r, "collection.tsv", func(d Document) error { docs = append(docs, d); return nil })
		return docs, err
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := read(bytes.NewBuffer(data))
		if err != nil {
			checkParseErr(t, err, "collection.tsv", data)
			return
		}
		roundTrip(t, docs, func(b *bytes.Buffer, d []Document) error { return encodeMSMARCOCollection(bomWriter(b), d) }, read)
	})
}

func FuzzMSMARCOTriples(f *testing.F) {
	f.Add([]byte("400296\t1540783\t3518497\n662731\t193249\t2975302\n"))
	f.Add([]byte("is a little caffeine ok during pregnancy\tWe don't know a lot about the effects of caffeine.\tPassiflora herbertiana.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ts []Triple
		err := ReadMSMARCOTriples(bytes.NewReader(data), "triples.tsv", TriplesAuto, func(tr Triple) error { ts = append(ts, tr); return nil })
		if err != nil {
			checkParseErr(t, err, "triples.tsv", data)
			return
		}
		format := TriplesText
		if len(ts) > 0 && ts[0].QueryID != "" {
			format = TriplesIDs
		}
		roundTrip(t, ts, func(b *bytes.Buffer, ts []Triple) error { return encodeMSMARCOTriples(bomWriter(b), ts, format) },
			func(b *bytes.Buffer) ([]Triple, error) {
				var again []Triple
				err := ReadMSMARCOTriples(b, "triples.tsv", format, func(tr Triple) error { again = append(again, tr); return nil })
				return again, err
			})
	})
}

// TestMSMARCOStreamingMemory streams a 1 GB MS MARCO-shaped collection.tsv and checks that the reader's
// memory does not grow with the file. It is opt-in (MIMICRY_BIG=1): generating the file takes a while and
// 1 GB of disk, deleted afterwards. It reports the peak heap in use while streaming (sampled every 50,000
// passages) and the process's peak resident set (VmHWM).
func TestMSMARCOStreamingMemory(t *testing.T) {
	if os.Getenv("MIMICRY_BIG") != "1" {
		t.Skip("set MIMICRY_BIG=1 to stream a generated 1 GB collection.tsv")
	}
	const size = 1 << 30
	path := filepath.Join(t.TempDir(), "collection.tsv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Fields("the presence of communication amid scientific minds was equally important to the success " +
		"of manhattan project as scientific intellect only cloud hanging over impressive achievement atomic researchers " +
		"engineers is what their success truly meant hundreds thousands innocent lives obliterated")
	bw := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	var written int64
	n := 0
	var line []byte
	for written < size {
		line = strconv.AppendInt(line[:0], int64(n), 10)
		line = append(line, '\t')
		// MS MARCO passages average about 330 bytes (50-60 words).
		for w := 20 + rng.IntN(80); w > 0; w-- {
			line = append(line, words[rng.IntN(len(words))]...)
			line = append(line, ' ')
		}
		line[len(line)-1] = '\n'
		k, err := bw.Write(line)
		if err != nil {
			t.Fatal(err)
		}
		written += int64(k)
		n++
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	count, textBytes := 0, 0
	start := time.Now()
	err = ReadFile(path, func(r io.Reader, name string) error {
		return ReadMSMARCOCollection(r, name, func(d Document) error {
			count++
			textBytes += len(d.Text)
			if count%50000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	hwm := "unknown"
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				hwm = strings.TrimSpace(strings.TrimPrefix(l, "VmHWM:"))
			}
		}
	}
	if count != n {
		t.Fatalf("read %d passages, wrote %d", count, n)
	}
	t.Logf("streamed %d passages, %.2f GB, in %v (%.0f MB/s); heap in use: %.1f MB before, peak %.1f MB; VmHWM %s",
		count, float64(written)/1e9, elapsed.Round(time.Millisecond), float64(written)/1e6/elapsed.Seconds(),
		float64(base)/1e6, float64(peak)/1e6, hwm)
	if peak-base > 64<<20 {
		t.Errorf("heap grew by %.1f MB while streaming; the reader should not hold the file", float64(peak-base)/1e6)
	}
}
