package parity

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// TextHash is the hex of the first 6 bytes of the SHA-256 of s's UTF-8 bytes.
func TextHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

// IntsHash is the hex of the first 8 bytes of the SHA-256 of the sequences written one after the
// other as little-endian uint32.
func IntsHash[T ~int | ~int32](seqs ...[]T) string {
	h := sha256.New()
	var buf [4]byte
	for _, seq := range seqs {
		for _, v := range seq {
			binary.LittleEndian.PutUint32(buf[:], uint32(v))
			h.Write(buf[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// SweepTexts returns the code-point sweep strings: string k is "a" c "b " for every Unicode scalar
// value c in [k·chunk, (k+1)·chunk) (surrogates excluded), up to U+10FFFF.
func SweepTexts(chunk int) []string {
	var out []string
	for k := 0; k < 0x110000/chunk; k++ {
		out = append(out, SweepText(k, chunk))
	}
	return out
}

// SweepText returns sweep string k, see [SweepTexts].
func SweepText(k, chunk int) string {
	var b strings.Builder
	for c := rune(k * chunk); c < rune((k+1)*chunk); c++ {
		if c >= 0xD800 && c <= 0xDFFF {
			continue
		}
		b.WriteByte('a')
		b.WriteRune(c)
		b.WriteString("b ")
	}
	return b.String()
}

// DataTexts returns the texts of a shared-data source as make_fixtures.py builds them. source is
// a path under dataDir, with "#field" for JSON-lines files ("scifact/corpus.jsonl#text"): the
// field of every line. Without a field the file is SMART-format ("cranfield/cran.all.1400") and
// the texts are its field blocks, see [SMARTFields].
func DataTexts(dataDir, source string) ([]string, error) {
	path, field, isJSON := strings.Cut(source, "#")
	full := filepath.Join(dataDir, filepath.FromSlash(path))
	data, err := os.ReadFile(full)
	if err != nil {
		return nil, fmt.Errorf("parity: %w", err)
	}
	if !isJSON {
		return SMARTFields(string(data)), nil
	}
	if field == "metadata" {
		return nil, fmt.Errorf("parity: %s: scifact's metadata names the relevant documents and must not be read", source)
	}
	var out []string
	for i, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var rec map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			return nil, fmt.Errorf("parity: %s line %d: %w", full, i+1, err)
		}
		var s string
		if raw, ok := rec[field]; ok {
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, fmt.Errorf("parity: %s line %d: field %q: %w", full, i+1, field, err)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// SMARTFields returns the field blocks of a SMART-format collection file: the lines after a
// marker line (".T", ".W", …: "." and an upper-case ASCII letter, then the end of the line or a
// space, tab or CR) up to the next marker, joined with "\n" (lines are split on "\n" only, so CRs
// stay). Blocks after .I markers are skipped, as are blocks of only spaces, tabs, CRs and
// newlines.
func SMARTFields(text string) []string {
	var out []string
	var cur []string
	in := false
	flush := func() {
		if in {
			s := strings.Join(cur, "\n")
			if strings.Trim(s, " \t\r\n") != "" {
				out = append(out, s)
			}
		}
	}
	for _, line := range strings.Split(text, "\n") {
		if len(line) >= 2 && line[0] == '.' && line[1] >= 'A' && line[1] <= 'Z' &&
			(len(line) == 2 || line[2] == ' ' || line[2] == '\t' || line[2] == '\r') {
			flush()
			in, cur = line[1] != 'I', cur[:0]
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	flush()
	return out
}

// DataPairTexts returns the pairs of a [DataPairs] record: pair k is
// (queries[k mod nq], corpus[k·7919 mod nd]) for k < n, with queries the texts of
// "scifact/queries.jsonl#text" and corpus those of "scifact/corpus.jsonl#text", swapped when
// first is the corpus. For single texts (second == "") it returns the texts of first and nil.
func DataPairTexts(dataDir string, p DataPairs) (firsts, seconds []string, err error) {
	const queries, corpus = "scifact/queries.jsonl#text", "scifact/corpus.jsonl#text"
	first, err := DataTexts(dataDir, p.First)
	if err != nil {
		return nil, nil, err
	}
	if p.Second == "" {
		return first, nil, nil
	}
	second, err := DataTexts(dataDir, p.Second)
	if err != nil {
		return nil, nil, err
	}
	q, d := first, second
	switch {
	case p.First == queries && p.Second == corpus:
	case p.First == corpus && p.Second == queries:
		q, d = second, first
	default:
		return nil, nil, fmt.Errorf("parity: no pair rule for %q with %q", p.First, p.Second)
	}
	if len(q) == 0 || len(d) == 0 {
		return nil, nil, fmt.Errorf("parity: %s or %s is empty", queries, corpus)
	}
	fa, fb := make([]string, p.N), make([]string, p.N)
	for k := range p.N {
		fa[k], fb[k] = q[k%len(q)], d[(k*7919)%len(d)]
	}
	if p.First == corpus {
		fa, fb = fb, fa
	}
	return fa, fb, nil
}

// quote shows a text in a failure message, shortened to about limit bytes.
func quote(s string, limit int) string {
	if len(s) <= limit {
		return fmt.Sprintf("%q", s)
	}
	cut := limit
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
