package splade

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"

	"github.com/mimicry-ir/mimicry/datasets"
)

// sparseIndexMagic starts a saved Index; the last byte is the format version.
const sparseIndexMagic = "MIMSPLX\x01"

// sparseIndexHeader is the JSON header of a saved index.
type sparseIndexHeader struct {
	Vocab    int     `json:"vocab"`
	Docs     int     `json:"docs"`
	Bits     int     `json:"bits"`
	Scale    float32 `json:"scale"`
	Postings int64   `json:"postings"`
}

// Save writes the index to path atomically (a temporary file renamed into place; nothing is left at
// path on error). The format is little-endian binary: the magic "MIMSPLX\x01", a uint32 length and
// a JSON header (vocab, docs, bits, scale, postings), the document ids (uvarint length + bytes),
// the vocab+1 posting offsets (uint64), the document numbers (uint32), the impacts (1 or 2 bytes),
// and a CRC-32 (IEEE) of everything before it.
func (ix *Index) Save(path string) error {
	return datasets.WriteFileAtomic(path, func(out io.Writer) error {
		h := crc32.NewIEEE()
		w := bufio.NewWriterSize(io.MultiWriter(out, h), 1<<20)
		hdr, _ := json.Marshal(sparseIndexHeader{Vocab: ix.vocab, Docs: len(ix.ids), Bits: ix.bits, Scale: ix.scale, Postings: int64(len(ix.docs))})
		w.WriteString(sparseIndexMagic)
		binary.Write(w, binary.LittleEndian, uint32(len(hdr)))
		w.Write(hdr)
		var buf [binary.MaxVarintLen64]byte
		for _, id := range ix.ids {
			w.Write(buf[:binary.PutUvarint(buf[:], uint64(len(id)))])
			w.WriteString(id)
		}
		for _, o := range ix.offsets {
			binary.Write(w, binary.LittleEndian, uint64(o))
		}
		chunk := make([]byte, 0, 1<<16)
		for start := 0; start < len(ix.docs); start += 1 << 14 {
			chunk = chunk[:0]
			for _, d := range ix.docs[start:min(start+1<<14, len(ix.docs))] {
				chunk = binary.LittleEndian.AppendUint32(chunk, d)
			}
			w.Write(chunk)
		}
		for start := 0; start < len(ix.impacts); start += 1 << 14 {
			chunk = chunk[:0]
			for _, v := range ix.impacts[start:min(start+1<<14, len(ix.impacts))] {
				if ix.bits == 8 {
					chunk = append(chunk, byte(v))
				} else {
					chunk = binary.LittleEndian.AppendUint16(chunk, v)
				}
			}
			w.Write(chunk)
		}
		if err := w.Flush(); err != nil {
			return err
		}
		return binary.Write(out, binary.LittleEndian, h.Sum32())
	})
}

// LoadIndex reads an index written by Save, checking its structure and checksum; a damaged or
// truncated file is an error naming path.
func LoadIndex(path string) (*Index, error) {
	var ix *Index
	err := datasets.ReadFile(path, func(r io.Reader, name string) error {
		var err error
		ix, err = readSparseIndex(r)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = errors.New("truncated file")
			}
			return fmt.Errorf("%s: not a valid SPLADE index: %w", name, err)
		}
		return nil
	})
	return ix, err
}

// readSparseIndex parses a saved index.
func readSparseIndex(in io.Reader) (*Index, error) {
	r := &sparseHashingReader{r: bufio.NewReaderSize(in, 1<<20), h: crc32.NewIEEE()}
	magic := make([]byte, len(sparseIndexMagic))
	if _, err := io.ReadFull(r, magic); err != nil {
		return nil, err
	}
	if string(magic) != sparseIndexMagic {
		return nil, fmt.Errorf("bad magic %q (want %q)", magic, sparseIndexMagic)
	}
	var hlen uint32
	if err := binary.Read(r, binary.LittleEndian, &hlen); err != nil {
		return nil, err
	}
	if hlen > 1<<20 {
		return nil, fmt.Errorf("header of %d bytes", hlen)
	}
	hb := make([]byte, hlen)
	if _, err := io.ReadFull(r, hb); err != nil {
		return nil, err
	}
	var hdr sparseIndexHeader
	if err := json.Unmarshal(hb, &hdr); err != nil {
		return nil, fmt.Errorf("header: %v", err)
	}
	switch {
	case hdr.Vocab <= 0 || hdr.Vocab > 1<<26:
		return nil, fmt.Errorf("header: vocabulary size %d", hdr.Vocab)
	case hdr.Docs < 0 || hdr.Docs > math.MaxUint32:
		return nil, fmt.Errorf("header: %d documents", hdr.Docs)
	case hdr.Bits != 8 && hdr.Bits != 16:
		return nil, fmt.Errorf("header: %d bits", hdr.Bits)
	case !(hdr.Scale > 0) || math.IsInf(float64(hdr.Scale), 0):
		return nil, fmt.Errorf("header: scale %v", hdr.Scale)
	case hdr.Postings < 0 || hdr.Postings > 1<<40:
		return nil, fmt.Errorf("header: %d postings", hdr.Postings)
	}
	ix := &Index{vocab: hdr.Vocab, bits: hdr.Bits, scale: hdr.Scale}
	ix.ids = make([]string, 0, min(hdr.Docs, 1<<20))
	for i := 0; i < hdr.Docs; i++ {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return nil, err
		}
		if n > 1<<20 {
			return nil, fmt.Errorf("document %d: id of %d bytes", i, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		ix.ids = append(ix.ids, string(b))
	}
	offs := make([]uint64, hdr.Vocab+1)
	if err := binary.Read(r, binary.LittleEndian, offs); err != nil {
		return nil, err
	}
	ix.offsets = make([]int64, len(offs))
	for t, o := range offs {
		if o > uint64(hdr.Postings) || (t > 0 && o < offs[t-1]) || (t == 0 && o != 0) {
			return nil, fmt.Errorf("posting offset of term %d is %d (postings %d)", t, o, hdr.Postings)
		}
		ix.offsets[t] = int64(o)
	}
	if ix.offsets[hdr.Vocab] != hdr.Postings {
		return nil, fmt.Errorf("posting offsets end at %d, header says %d postings", ix.offsets[hdr.Vocab], hdr.Postings)
	}
	ix.docs = make([]uint32, hdr.Postings)
	ix.impacts = make([]uint16, hdr.Postings)
	width := hdr.Bits / 8
	buf := make([]byte, 1<<16)
	for start := int64(0); start < hdr.Postings; start += 1 << 14 {
		part := ix.docs[start:min(start+1<<14, hdr.Postings)]
		if _, err := io.ReadFull(r, buf[:4*len(part)]); err != nil {
			return nil, err
		}
		for i := range part {
			part[i] = binary.LittleEndian.Uint32(buf[4*i:])
		}
	}
	for start := int64(0); start < hdr.Postings; start += 1 << 14 {
		part := ix.impacts[start:min(start+1<<14, hdr.Postings)]
		if _, err := io.ReadFull(r, buf[:width*len(part)]); err != nil {
			return nil, err
		}
		for i := range part {
			if width == 1 {
				part[i] = uint16(buf[i])
			} else {
				part[i] = binary.LittleEndian.Uint16(buf[2*i:])
			}
		}
	}
	want := r.h.Sum32() // the checksum of everything before the stored one
	var sum [4]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil {
		return nil, err
	}
	if got := binary.LittleEndian.Uint32(sum[:]); got != want {
		return nil, fmt.Errorf("checksum mismatch (stored %08x, computed %08x): the file is damaged", got, want)
	}
	if _, err := r.r.ReadByte(); err != io.EOF {
		return nil, errors.New("trailing data after the checksum")
	}
	for t := range hdr.Vocab {
		for p := ix.offsets[t]; p < ix.offsets[t+1]; p++ {
			if int(ix.docs[p]) >= hdr.Docs || (p > ix.offsets[t] && ix.docs[p] <= ix.docs[p-1]) {
				return nil, fmt.Errorf("term %d: posting %d names document %d (of %d, out of order?)", t, p, ix.docs[p], hdr.Docs)
			}
		}
	}
	return ix, nil
}

// sparseHashingReader reads through a buffer and hashes what it hands out.
type sparseHashingReader struct {
	r *bufio.Reader
	h hash.Hash32
}

// Read implements io.Reader.
func (h *sparseHashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// ReadByte implements io.ByteReader.
func (h *sparseHashingReader) ReadByte() (byte, error) {
	b, err := h.r.ReadByte()
	if err == nil {
		h.h.Write([]byte{b})
	}
	return b, err
}
