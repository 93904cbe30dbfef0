#!/usr/bin/env python3
"""Writes models/tokenizer/unicode_tables.go: the Unicode character classes of Hugging Face's BERT
normaliser and pre-tokeniser, measured on Hugging Face's `tokenizers` itself, one code point at a
time, so that the pure-Go WordPiece agrees with it on every code point.

Hugging Face's Rust code does not use current Unicode data: BertNormalizer's clean_text removes
"other" characters by the tables of the unicode_categories crate 0.1.1 (about Unicode 8: Cc, the
Cf of that version and Co, but not unassigned code points, which Go's unicode package would call
Cn), its strip_accents decomposes with unicode-normalization-alignments 0.1.12 (Unicode 9) and
drops that crate's Mn, BertPreTokenizer's punctuation is unicode_categories' P* plus ASCII
punctuation, and lower-casing is Rust's char::to_lowercase (the Unicode of the Rust release that
built the wheel, with İ → "i̇"). Go's tables (Unicode 15) differ on about 825,000 code points for
clean_text, 129 for punctuation, 421 for strip_accents and 56 for lower-casing.

Regenerate (from the repository root, in the venv of make_fixtures.py):

    python models/tokenizer/parity/make_tables.py && gofmt -l models/tokenizer

The parity fixture's code-point sweep (make_fixtures.py) checks the result on every code point.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.abspath(os.path.join(HERE, "..", "unicode_tables.go"))
OUT_NFD = os.path.abspath(os.path.join(HERE, "..", "unicode_nfd_tables.go"))
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3


def hangul_nfd(c):
    s = c - HANGUL_FIRST
    lv = [chr(0x1100 + s // 588), chr(0x1161 + (s % 588) // 28)]
    if s % 28:
        lv.append(chr(0x11A7 + s % 28))
    return "".join(lv)


def ranges(cps):
    """Sorted code points → [(lo, hi)] runs."""
    out = []
    for c in sorted(cps):
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def rows(items, per_line, indent="\t\t"):
    return [indent + " ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]


def range_table(name, doc, cps):
    rs = ranges(cps)
    r16 = [(lo, hi) for lo, hi in rs if hi <= 0xFFFF]
    r32 = [(lo, hi) for lo, hi in rs if lo > 0xFFFF]
    for lo, hi in rs:  # a run across U+FFFF is split
        if lo <= 0xFFFF < hi:
            r16.append((lo, 0xFFFF))
            r32.insert(0, (0x10000, hi))
    r16.sort()
    r32.sort()
    latin = sum(1 for lo, hi in r16 if hi <= 0xFF)
    lines = [f"// {line}" for line in doc.split("\n")]
    lines.append(f"var {name} = &unicode.RangeTable{{")
    if r16:
        lines.append("\tR16: []unicode.Range16{")
        lines += rows([f"{{0x{lo:04x}, 0x{hi:04x}, 1}}," for lo, hi in r16], 4)
        lines.append("\t},")
    if r32:
        lines.append("\tR32: []unicode.Range32{")
        lines += rows([f"{{0x{lo:x}, 0x{hi:x}, 1}}," for lo, hi in r32], 4)
        lines.append("\t},")
    if latin:
        lines.append(f"\tLatinOffset: {latin},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def go_string(s):
    return '"' + "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else f"\\U{ord(c):08x}" if ord(c) > 0xFFFF
                         else f"\\u{ord(c):04x}" for c in s) + '"'


def canonical_classes(nfd, nfd_of):
    """The non-zero canonical combining classes that Hugging Face's NFD uses, measured: a mark m
    with class k > 0 moves before a following mark of a lower class and after a preceding mark of
    a higher one. Candidates are found with U+0334 (class 1) and U+0301 (class 230); Python's
    unicodedata (a newer Unicode, whose classes never change once assigned) proposes each
    candidate's value, which is then checked against one reference mark of every class."""
    import unicodedata
    tilde_overlay, acute = "\u0334", "\u0301"
    cands = {}
    for c, d in nfd_of.items():
        m = chr(c)
        if d != m:
            continue  # only code points that NFD leaves alone appear in NFD output
        after_overlay = nfd.normalize_str(m + tilde_overlay) == tilde_overlay + m  # class > 1
        before_acute = nfd.normalize_str(acute + m) == m + acute  # 0 < class < 230
        if after_overlay or before_acute:
            k = unicodedata.combining(m)
            if k == 0:
                sys.exit(f"U+{c:04X} reorders in Hugging Face's NFD but has class 0 in Python's unicodedata")
            cands[c] = k
    refs = {}
    for c, k in sorted(cands.items()):
        refs.setdefault(k, chr(c))
    for c, k in cands.items():
        m = chr(c)
        for v, r in refs.items():
            if r == m:
                continue
            moved = nfd.normalize_str(m + r) == r + m
            if moved != (k > v):
                sys.exit(f"class of U+{c:04X}: {k} from unicodedata, but against U+{ord(r):04X} (class {v}) "
                         f"Hugging Face's NFD {'moves' if moved else 'keeps'} it")
    return cands


def main():
    import tokenizers
    from tokenizers import normalizers, pre_tokenizers

    def bert(clean=False, chinese=False, strip=False, lower=False):
        return normalizers.BertNormalizer(clean_text=clean, handle_chinese_chars=chinese,
                                          strip_accents=strip, lowercase=lower)

    clean, chinese, strip, lower = bert(clean=True), bert(chinese=True), bert(strip=True), bert(lower=True)
    nfd = normalizers.NFD()
    pre = pre_tokenizers.BertPreTokenizer()

    removed, spaces, split_spaces, punct, cjk, mn = set(), set(), set(), set(), set(), set()
    lower_map, nfd_of, strip_of = {}, {}, {}
    for c in range(0x110000):
        if 0xD800 <= c <= 0xDFFF:
            continue
        ch = chr(c)
        cl = clean.normalize_str(ch)
        if cl == "":
            removed.add(c)
        elif cl == " " and ch != " " or ch == " ":
            spaces.add(c)
        elif cl != ch:
            sys.exit(f"clean_text maps U+{c:04X} to {cl!r}: not a removal or a space")
        words = [w for w, _ in pre.pre_tokenize_str("a" + ch + "b")]
        if words == ["a", "b"]:
            split_spaces.add(c)
        elif words == ["a", ch, "b"]:
            punct.add(c)
        elif words != ["a" + ch + "b"]:
            sys.exit(f"BertPreTokenizer splits 'a' U+{c:04X} 'b' into {words!r}")
        ck = chinese.normalize_str(ch)
        if ck == " " + ch + " ":
            cjk.add(c)
        elif ck != ch:
            sys.exit(f"handle_chinese_chars maps U+{c:04X} to {ck!r}")
        d = nfd.normalize_str(ch)
        nfd_of[c] = d
        strip_of[c] = strip.normalize_str(ch)
        if d == ch and strip_of[c] == "":
            mn.add(c)
        lo = lower.normalize_str(ch)
        if lo != ch:
            lower_map[c] = lo
    # clean_text removes control characters before mapping whitespace (\v, \f and U+0085 are both).
    if split_spaces - removed != spaces:
        sys.exit(f"pre-tokenizer whitespace {sorted((split_spaces - removed) ^ spaces)} differs from clean_text's")
    # strip_accents must be NFD followed by removing the measured non-spacing marks.
    for c, d in nfd_of.items():
        want = "".join(x for x in d if ord(x) not in mn)
        if strip_of[c] != want:
            sys.exit(f"strip_accents(U+{c:04X}) = {strip_of[c]!r}, but NFD then removing Mn gives {want!r}")
    # Hangul syllables decompose algorithmically: check, and leave them out of the table.
    for c in range(HANGUL_FIRST, HANGUL_LAST + 1):
        if nfd_of[c] != hangul_nfd(c):
            sys.exit(f"NFD(U+{c:04X}) = {nfd_of[c]!r}, not the Hangul algorithm's {hangul_nfd(c)!r}")
    decomposition = {c: d for c, d in nfd_of.items() if d != chr(c) and not HANGUL_FIRST <= c <= HANGUL_LAST}
    ccc = canonical_classes(nfd, nfd_of)

    head = f'''// Code generated by models/tokenizer/parity/make_tables.py from Hugging Face tokenizers {tokenizers.__version__}; DO NOT EDIT.

package tokenizer

import "unicode"

// The character classes of Hugging Face's BertNormalizer and BertPreTokenizer, measured one code
// point at a time on Hugging Face's tokenizers (which uses older Unicode data than Go's unicode
// package; see make_tables.py).'''
    parts = [head]
    parts.append(range_table("hfRemoved", "hfRemoved holds the characters that clean_text removes: NUL, U+FFFD and \"other\"\ncharacters (Cc, Cf, Co of unicode_categories 0.1.1) except tab, newline and carriage return.", removed))
    parts.append(range_table("hfWhitespace", "hfWhitespace holds the characters on which BertPreTokenizer splits (Rust's char::is_whitespace);\nclean_text turns those that it does not remove into spaces.", split_spaces))
    parts.append(range_table("hfPunct", "hfPunct holds the characters that BertPreTokenizer isolates as words: ASCII punctuation and\nunicode_categories 0.1.1's punctuation (P*).", punct))
    parts.append(range_table("hfChinese", "hfChinese holds the CJK ideographs that handle_chinese_chars surrounds with spaces.", cjk))
    parts.append(range_table("hfNonspacingMark", "hfNonspacingMark holds the non-spacing marks (Mn) that strip_accents removes after NFD.", mn))
    parts.append("// hfLower maps the code points that lowercase changes to their lower case (Rust's\n"
                 "// char::to_lowercase).\nvar hfLower = map[rune]string{\n" +
                 "\n".join(rows([f"0x{c:04x}: {go_string(s)}," for c, s in sorted(lower_map.items())], 5, "\t")) +
                 "\n}\n")
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("\n".join(p if p.endswith("\n") else p + "\n" for p in parts))

    nfd_head = (head.split("\n")[0] + "\n\npackage tokenizer\n\n"
                "// The canonical decompositions and combining classes of Hugging Face's NFD (Unicode 9, by\n"
                "// unicode-normalization-alignments 0.1.12), measured on its tokenizers; see make_tables.py.\n")
    nfd_parts = [nfd_head]
    nfd_parts.append("// hfDecomposition maps the code points that Hugging Face's NFD decomposes to their full\n"
                     "// canonical decomposition, Hangul syllables excepted (they decompose algorithmically).\n"
                     "var hfDecomposition = map[rune]string{\n" +
                     "\n".join(rows([f"0x{c:04x}: {go_string(d)}," for c, d in sorted(decomposition.items())], 5, "\t")) +
                     "\n}\n")
    nfd_parts.append("// hfCombiningClass holds the non-zero canonical combining classes, by which NFD reorders\n"
                     "// runs of combining marks.\n"
                     "var hfCombiningClass = map[rune]uint8{\n" +
                     "\n".join(rows([f"0x{c:04x}: {v}," for c, v in sorted(ccc.items())], 10, "\t")) +
                     "\n}\n")
    with open(OUT_NFD, "w", encoding="utf-8") as f:
        f.write("\n".join(nfd_parts))
    print(f"wrote {OUT} and {OUT_NFD}: {len(removed)} removed, {len(split_spaces)} whitespace, "
          f"{len(punct)} punctuation, {len(cjk)} CJK, {len(mn)} Mn, {len(decomposition)} decompositions "
          f"(+{HANGUL_LAST - HANGUL_FIRST + 1} Hangul), {len(ccc)} combining classes, "
          f"{len(lower_map)} lower-case mappings", file=sys.stderr)


if __name__ == "__main__":
    main()
