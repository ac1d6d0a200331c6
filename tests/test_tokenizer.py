"""The tokenizer specification: google-research/bert's FullTokenizer, in Python and in the graph.

(a) graph ids == Python ids (and graph words == BasicTokenizer words) on a varied corpus and a
seeded random-Unicode fuzz, lower-cased and cased; (b) agreement with transformers' legacy and
fast BertTokenizer except where they deliberately or accidentally differ from Google, each
difference asserted by example; (c) hand-written expectations for cases where references
disagree; (d) a SavedModel holding the graph tokenizer reloads in a fresh process that imports
only tensorflow and tensorflow_text.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import unicodedata

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from classifier.text.basic import BasicTokenizer  # noqa: E402
from classifier.text.char_tables import build_char_tables  # noqa: E402
from classifier.text.chars import is_chinese_char  # noqa: E402
from classifier.text.encoder import TextEncoder  # noqa: E402
from classifier.text.graph_tokenizer import GraphTokenizer  # noqa: E402
from classifier.text.tokenizer import FullTokenizer  # noqa: E402
from classifier.text.vocab import (  # noqa: E402
    build_tiny_chinese_vocab,
    load_vocab,
    lookup_table,
    write_vocab,
)
from classifier.text.wordpiece import wordpiece  # noqa: E402

CORPUS = [
    "", "   ", " \t\n\r\u3000\u00a0 ",
    "今天天气很好，我们去公园散步吧！", "中國的繁體字也應該被正確處理。", "苹果发布了新款iPhone手机",
    "标点：，。！？“引号”《书名》【括号】、顿号…省略——破折号（圆括号）「引」『号』〈〉～·",
    "unaffable iPhone playing the NBA", "HeLLo WoRLD MiXeD CaSe", "café naïve Ångström résumé Ærø",
    "2019年NBA总决赛 3.14 1,000,000 100% ＄99 ￥100", "ＡＢＣ１２３ ｉＰｈｏｎｅ ａｂｃ Ｚ",
    "emoji 😀 👍🏽 👨‍👩‍👧‍👦 🇨🇳 ❤️ 🙏🏻", "ctl a\x00b\x01c\x7fd\x1be\x9f",
    "zw a\u200bb\u200cc\u200dd\ufeffe\u2060f\u00adg", "line\u2028sep\u2029para\u2028",
    "vt a\x0bb\x0cc\x85d\x1ce\x1ff", "nbsp a\u00a0b\u3000c\u202fd\u2009e\u1680f\u205fg",
    "compat \uf900\uf901\ufa0e\ufa11\ufa6d \U0002f800\U0002fa1d", "extB 𠀀𠀁𪚥 extG 𰀀𰀁 extE 𫝀𫠠",
    "こんにちは カタカナ ｶﾀｶﾅ ﾊﾞﾋﾟ", "안녕하세요 한국어 ㄱㄴㄷ", "مَرْحَبًا بالعالم", "สวัสดีครับ ภาษาไทย",
    "नमस्ते हिन्दी क़ ज़", "https://www.example.com/path?q=1&x=2#frag user.name+tag@example.co.uk",
    "a" * 150, "b" * 201, "x" * 200, "中" * 300, "é" * 201, "ab" * 101, "𐐀" * 200, "𐐀" * 201,
    "[CLS] [SEP] [UNK] [MASK] [PAD] [unused1] <S> <T> ##s",
    "ΟΔΟΣ ΣΟΦΟΣ. Σ ΑΣ'Σ Σ̈Σ ΑΣ\u0301 ΑΣ\u00adΣ 中Σ ΑΣ中", "İstanbul ΙΣ Straße STRASSE ǅ ǈ ﬁ ﬂ",
    "e\u0301 a\u0300\u0301 \u0301alone a\u0316\u0301 o\u0301\u0316 \u0345",
    "mus \U0001d16d\U0001d165 \U0001d165\U0001d16d a\U0001d16d\u0301\U0001d165 \U0001d15f \U0001d160",
    "repl a\ufffdb \ue000 \uf8ff \U000f0000 \U0010fffd unassigned \u0378 \U000e0001",
    "roman Ⅻ ⅻ ① ② x² H₂O ℃ № ™ K Ω Å ﹐﹒ ︰", "𝐀𝐁𝐂 𝒜 𝔸 ᵃ ꟸ", "U+037E \u037e U+0387 \u0387 \u1fef \u1fed",
    "我爱NBA和iPhone 11 Pro Max！！", "tab\tseparated\nnew\r\nline",
    "a-b_c.d,e;f:g!h?i'j\"k(l)m[n]o{p}q<r>s/t\\u|v`w~x@y#z$%^&*+=",
    "Ꙁ ꙁ Ⴀ ⴀ Ᏸ ᏸ ⰀⰰⱟⰯ Ꟁ ꟁ 𐐀 𐐨 𐕰 𐖗 𖹀 𞤀", "Ǆ ǅ ǆ Ϋ́ ΐ ﬀ ŉ ǰ ẖ",
    "ᄀ\u1161\u11a8 각 \u1100\u1161", "ji\u0307 I\u0307", "ﾟ ﾞ \u3099\u309a が か\u3099",
    "a\u2e43b a\u061db \U0002b820x",
]  # fmt: skip

# Code points whose Unicode data differs between versions, or that exercise a rule on their own.
FUZZ_SPECIALS = (
    "Σσς Ι\u0345'\u00ad.:\u2019\u0307\u0130 \u3000\u2028\u200d\u0301\u0316"
    "\U0001d16d\U0001d165\u302e\u1b44\u0e31\u1734\u2e43\u061d\U0002b820\ue000\u0378"
)
FUZZ_RANGES = [
    (0x20, 0x7E), (0x00, 0x3F), (0xA0, 0x24F), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF),
    (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F), (0x1100, 0x11FF), (0x1E00, 0x1FFF),
    (0x2000, 0x206F), (0x2070, 0x2BFF), (0x2C00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF), (0xA000, 0xABFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0xF900, 0xFAFF),
    (0xFB00, 0xFFFF), (0x10000, 0x1FFFF), (0x1D100, 0x1D1FF), (0x1F300, 0x1FAFF),
    (0x20000, 0x2FFFF), (0x30000, 0x10FFFF),
]  # fmt: skip


def fuzz_strings(n: int, seed: int = 0) -> list[str]:
    """Random strings of 1-24 code points drawn across scripts and planes (no surrogates)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 24)):
            if rng.random() < 0.2:
                chars.append(rng.choice(FUZZ_SPECIALS))
                continue
            cp = rng.randint(*rng.choice(FUZZ_RANGES))
            chars.append(" " if 0xD800 <= cp <= 0xDFFF else chr(cp))
        out.append("".join(chars))
    return out


FUZZ = fuzz_strings(3000)
ALL_TEXTS = CORPUS + FUZZ
SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[UNK]", "[PAD]", "[MASK]")


@pytest.fixture(scope="module")
def vocab() -> list[str]:
    # Every character of the corpus and the fuzz is a vocab entry (with its "##" twin), so words
    # are spelled out in pieces instead of collapsing to [UNK], and ids expose any difference.
    return build_tiny_chinese_vocab(extra_texts=ALL_TEXTS)


@pytest.fixture(scope="module")
def vocab_file(vocab, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    write_vocab(path, vocab)
    return str(path)


@pytest.fixture(scope="module", params=[True, False], ids=["lower", "cased"])
def lower(request) -> bool:
    return request.param


@pytest.fixture(scope="module")
def lower_graph(vocab) -> GraphTokenizer:
    """Shared: each instance traces its own tf.function (about a second)."""
    return GraphTokenizer(vocab, do_lower_case=True)


@pytest.fixture(scope="module")
def graph(vocab, lower, lower_graph) -> GraphTokenizer:
    return lower_graph if lower else GraphTokenizer(vocab, do_lower_case=False)


@pytest.fixture(scope="module")
def full(vocab, lower) -> FullTokenizer:
    return FullTokenizer(vocab, do_lower_case=lower)


def graph_ids(graph: GraphTokenizer, texts) -> list[list[int]]:
    data = [t.encode("utf-8") if isinstance(t, str) else t for t in texts]
    return graph(tf.constant(data, tf.string)).to_list()


def graph_words(graph: GraphTokenizer, texts: list[str]) -> list[list[str]]:
    words = graph.split_words(tf.constant([t.encode("utf-8") for t in texts])).to_list()
    return [[w.decode("utf-8") for w in row] for row in words]


# === (a) graph == Python ===
def test_graph_ids_equal_python_ids(graph, full):
    got = graph_ids(graph, ALL_TEXTS)
    mismatches = [
        (t, full.tokenize(t))
        for t, ids in zip(ALL_TEXTS, got, strict=True)
        if ids != full.encode(t)
    ]
    assert not mismatches, mismatches[:5]
    tokens = [tok for t in ALL_TEXTS for tok in full.tokenize(t)]
    assert tokens.count("[UNK]") < len(tokens) // 10, "the vocab should spell most words out"


def test_graph_words_equal_basic_tokenizer_words(graph, lower):
    basic = BasicTokenizer(do_lower_case=lower)
    got = graph_words(graph, ALL_TEXTS)
    mismatches = [(t, w) for t, w in zip(ALL_TEXTS, got, strict=True) if w != basic.tokenize(t)]
    assert not mismatches, mismatches[:5]


def test_graph_words_equal_on_every_code_point_with_a_rule(graph, lower):
    """Every code point the tables say anything about, and a stride through all the others,
    each alone and between a cased letter and a sigma. (An offline run over all 1,112,064 code
    points in four contexts, both casings, found no difference either.)"""
    tables = build_char_tables(lower)
    special = {int(c) for c in tables.flag_keys} | {int(c) for c in tables.map_keys}
    cps = sorted(special | set(range(0, 0x110000, 61)) - set(range(0xD800, 0xE000)))
    texts = [f"AΣ{chr(c)}Σb {chr(c)}\u0301" for c in cps]
    basic = BasicTokenizer(do_lower_case=lower)
    got = graph_words(graph, texts)
    mismatches = [
        (hex(c), w) for c, t, w in zip(cps, texts, got, strict=True) if w != basic.tokenize(t)
    ]
    assert not mismatches, mismatches[:5]


def test_invalid_utf8_is_dropped_like_convert_to_unicode(graph, full):
    rng = random.Random(1)
    pool = [0x80, 0xBF, 0xC0, 0xC2, 0xE0, 0xE4, 0xB8, 0xED, 0xA0, 0xF0, 0xF4, 0xF8, 0x41, 0x20]
    samples = [b"\xe4\xb8\xad\xe4\xb8", b"\xed\xa0\x80x", b"\xc0\x80y", b"\xef\xbb\xbfa\xff"]
    samples += [bytes(rng.choice(pool) for _ in range(rng.randint(1, 12))) for _ in range(500)]
    assert graph_ids(graph, samples) == [full.encode(s) for s in samples]


def test_fast_wordpiece_equals_greedy_longest_match_first():
    """LinMaxMatch against the reference loop on a random vocab full of overlapping pieces."""
    rng = random.Random(3)
    alphabet = "abcdé"
    pieces = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 4))) for _ in range(60)}
    pieces |= {
        "##" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 3))) for _ in range(40)
    }
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", *sorted(pieces)]
    letters = alphabet * 8 + "z"  # "z" is in no piece: some words cannot be covered
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(2000)]
    table = lookup_table(vocab)
    want = [[table[p] for p in wordpiece(w, table)] for w in words]
    assert graph_ids(GraphTokenizer(vocab, do_lower_case=False), words) == want
    assert any(len(w) > 1 for w in want) and any(w == [1] for w in want)


def test_word_limit_counts_characters_not_bytes(vocab, lower_graph):
    texts = ["x" * 200, "x" * 201, "𐐨" * 200, "𐐨" * 201, "中" * 250, "abc", "abcd"]
    graphs = {200: lower_graph, 3: GraphTokenizer(vocab, max_chars_per_word=3)}
    for limit, graph in graphs.items():
        full = FullTokenizer(vocab, do_lower_case=True, max_input_chars_per_word=limit)
        assert graph_ids(graph, texts) == [full.encode(t) for t in texts]
    full = FullTokenizer(vocab)
    assert full.tokenize("𐐨" * 200)[:2] == ["𐐨", "##𐐨"]  # 800 bytes, still spelled out
    assert full.tokenize("𐐨" * 201) == ["[UNK]"]
    assert full.tokenize("中" * 250) == ["中"] * 250  # CJK characters are words of one


def test_graph_tokenizer_in_tf_function_with_unknown_batch(vocab, lower_graph):
    graph, full = lower_graph, FullTokenizer(vocab)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def tokenize(texts):
        return graph(texts)

    for batch in ([], ["你好"], ["", "   ", "今天天气很好"]):
        out = tokenize(tf.constant(batch, tf.string))
        assert isinstance(out, tf.RaggedTensor) and out.dtype == tf.int32
        assert out.to_list() == [full.encode(t) for t in batch]


# === (b) transformers ===
def legacy_tokenizer(vocab_file: str, lower: bool):
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    tok = BertTokenizerLegacy(vocab_file, do_lower_case=lower)
    tok.wordpiece_tokenizer.max_input_chars_per_word = 200
    return tok


def fast_tokenizer(vocab: list[str], lower: bool):
    import transformers
    from tokenizers.models import WordPiece

    ids = {t: i for i, t in enumerate(vocab)}
    tok = transformers.BertTokenizer(vocab=ids, do_lower_case=lower)
    tok.backend_tokenizer.model = WordPiece(ids, unk_token="[UNK]", max_input_chars_per_word=200)
    return tok


def has_other_c(text: str) -> bool:
    return any(unicodedata.category(c) in ("Co", "Cn") for c in text)


def test_equals_transformers_legacy_outside_its_documented_differences(vocab_file, full, lower):
    """transformers' Python BertTokenizer differs from Google in exactly three ways: special
    tokens typed in the text stay whole, NFC runs (after cleaning, so dropping a control can
    bring marks together that NFC then reorders), and every C* category is dropped (Co private
    use and Cn unassigned too). Everywhere else the tokens are identical."""
    legacy = legacy_tokenizer(vocab_file, lower)
    clean = BasicTokenizer().clean
    texts = [
        t
        for t in ALL_TEXTS
        if not any(s in t for s in SPECIAL_TOKENS)
        and not has_other_c(t)
        and unicodedata.normalize("NFC", clean(t)) == clean(t)
    ]
    assert len(texts) > 500
    mismatches = [t for t in texts if full.tokenize(t) != legacy.tokenize(t)]
    assert not mismatches, mismatches[:5]


def test_transformers_legacy_differences(vocab_file, vocab):
    legacy, google = legacy_tokenizer(vocab_file, True), FullTokenizer(vocab, True)
    assert legacy.tokenize("[CLS]你好") == ["[CLS]", "你", "好"]
    assert google.tokenize("[CLS]你好") == ["[", "c", "##l", "##s", "]", "你", "好"]
    assert legacy.tokenize("a\ue000b \u0378") == ["a", "##b"]  # Co/Cn dropped
    assert google.tokenize("a\ue000b \u0378") == ["a", "##\ue000", "##b", "\u0378"]
    legacy, google = legacy_tokenizer(vocab_file, False), FullTokenizer(vocab, False)
    assert legacy.tokenize("e\u0301") == ["é"]  # NFC composes
    assert google.tokenize("e\u0301") == ["e", "##\u0301"]
    assert legacy.tokenize("\uf900") == ["\u8c48"]  # NFC applies singleton decompositions
    assert google.tokenize("\uf900") == ["\uf900"]


def fast_words(fast, text: str) -> list[str]:
    """The fast tokenizer's words before WordPiece."""
    backend = fast.backend_tokenizer
    normalized = backend.normalizer.normalize_str(text)
    return [w for w, _ in backend.pre_tokenizer.pre_tokenize_str(normalized)]


def fast_disagrees_on_char(fast, basic: BasicTokenizer, char: str) -> bool:
    return fast_words(fast, f"a{char}b") != basic.tokenize(f"a{char}b")


def test_equals_transformers_fast_outside_its_documented_differences(vocab, full, lower):
    """The tokenizers-backed BertTokenizer differs per character (older/newer Unicode tables in
    Rust, private use dropped, CJK Extension E start) plus special tokens and final sigma.
    Texts free of those characters tokenize identically."""
    fast, basic = fast_tokenizer(vocab, lower), BasicTokenizer(lower)
    chars = sorted({c for t in ALL_TEXTS for c in t})
    differing = {c for c in chars if fast_disagrees_on_char(fast, basic, c)}
    if lower:
        differing.add("Σ")
    texts = [
        t
        for t in ALL_TEXTS
        if not any(s in t for s in SPECIAL_TOKENS) and not differing.intersection(t)
    ]
    assert len(texts) > 700
    mismatches = [t for t in texts if full.tokenize(t) != fast.tokenize(t)]
    assert not mismatches, mismatches[:5]


def test_transformers_fast_differences(vocab):
    fast, google = fast_tokenizer(vocab, True), FullTokenizer(vocab, True)
    assert fast.tokenize("ΟΔΟΣ") == ["ο", "##δ", "##ο", "##σ"]  # per-character lower()
    assert google.tokenize("ΟΔΟΣ") == ["ο", "##δ", "##ο", "##ς"]
    assert fast.tokenize("[SEP]") == ["[SEP]"]
    assert google.tokenize("[SEP]") == ["[", "s", "##e", "##p", "]"]
    # CJK Extension E from U+2B820 is isolated by Google; tokenizers' range starts at U+2B920.
    assert google.tokenize("\U0002b820x") == ["\U0002b820", "x"]
    assert fast.tokenize("\U0002b820x") == ["\U0002b820", "##x"]
    # Punctuation added in Unicode 10-14 (U+2E43, U+061D) is not punctuation to tokenizers.
    basic = BasicTokenizer()
    assert basic.tokenize("a\u2e43b") == ["a", "\u2e43", "b"]
    assert fast_words(fast, "a\u2e43b") == ["a\u2e43b"]
    assert basic.tokenize("a\ue000b") == ["a\ue000b"]
    assert fast_words(fast, "a\ue000b") == ["ab"]  # private use dropped


def test_tf_text_bert_tokenizer_is_not_google(vocab):
    """Why we do not use tf_text.BertTokenizer: NFKC case folding rewrites Chinese text."""
    import tensorflow_text as tf_text

    table = tf.lookup.StaticVocabularyTable(
        tf.lookup.KeyValueTensorInitializer(vocab, tf.range(len(vocab), dtype=tf.int64)), 1
    )
    bert = tf_text.BertTokenizer(table, lower_case=True, token_out_type=tf.string)
    text = "你好，世界！（ＡＢＣ）①"
    theirs = [t.decode() for t in bert.tokenize([text]).merge_dims(1, 2).to_list()[0]]
    assert theirs == ["你", "好", ",", "世", "界", "!", "(", "a", "##b", "##c", ")", "1"]
    google = FullTokenizer(vocab).tokenize(text)
    assert google == ["你", "好", "，", "世", "界", "！", "（", "ａ", "##ｂ", "##ｃ", "）", "①"]


# === (c) hand-written expectations ===
WORD_CASES = [
    # (text, lower-cased words, cased words)
    ("你好，世界！", ["你", "好", "，", "世", "界", "！"], ["你", "好", "，", "世", "界", "！"]),
    ("ＡＢＣ１２３", ["ａｂｃ１２３"], ["ＡＢＣ１２３"]),  # no NFKC: full-width stays full-width
    ("Café NAÏVE", ["cafe", "naive"], ["Café", "NAÏVE"]),
    ("[CLS]x", ["[", "cls", "]", "x"], ["[", "CLS", "]", "x"]),
    # Final sigma is decided per whitespace word, before punctuation is split off: "'" is
    # case-ignorable, so the first Σ of ΑΣ'Σ is followed by a cased letter and the last is not.
    ("ΟΔΟΣ ΑΣ'Σ", ["οδος", "ασ", "'", "ς"], ["ΟΔΟΣ", "ΑΣ", "'", "Σ"]),
    ("line\u2028break\u2029x", ["line", "break", "x"], ["line", "break", "x"]),
    ("a\u200bb\u200dc\ufeffd", ["abcd"], ["abcd"]),  # zero-width characters are Cf: dropped
    ("a\x0bb\x0cc\x85d", ["abcd"], ["abcd"]),  # VT, FF, NEL are Cc: dropped, not spaces
    ("a\u00a0b\u3000c", ["a", "b", "c"], ["a", "b", "c"]),  # Zs: spaces
    ("\uf900\U0002f800", ["\u8c48", "\u4e3d"], ["\uf900", "\U0002f800"]),  # NFD only if lower
    ("İe\u0301", ["ie"], ["İe\u0301"]),
    ("\u1fef", ["`"], ["\u1fef"]),  # NFD makes it ASCII "`", which is punctuation
    ("2019年ﬁ①", ["2019", "年", "ﬁ①"], ["2019", "年", "ﬁ①"]),  # no compatibility mapping
    ("👨\u200d👩 👍🏽", ["👨👩", "👍🏽"], ["👨👩", "👍🏽"]),
    ("a\ue000b\ufffdc", ["a\ue000bc"], ["a\ue000bc"]),  # private use kept, U+FFFD dropped
    ("", [], []),
    (" \t\n\u3000 ", [], []),
]


@pytest.mark.parametrize(("text", "lower_words", "cased_words"), WORD_CASES)
def test_hand_written_words(text, lower_words, cased_words):
    assert BasicTokenizer(do_lower_case=True).tokenize(text) == lower_words
    assert BasicTokenizer(do_lower_case=False).tokenize(text) == cased_words


def test_hand_written_pieces(vocab):
    full = FullTokenizer(vocab)
    assert full.tokenize("unaffable") == ["un", "##aff", "##able"]
    assert full.tokenize("iPhone") == ["ip", "##hone"]
    assert full.tokenize("2019年NBA") == ["2019", "年", "nba"]
    assert full.tokenize("ＡＢＣ") == ["ａ", "##ｂ", "##ｃ"]
    assert full.tokenize("x" * 201) == ["[UNK]"]


# === (d) export ===
@pytest.mark.slow
def test_saved_model_reloads_in_fresh_process_with_only_tf_and_tf_text(
    vocab, lower_graph, tmp_path
):
    """The tokenizer, and the TextEncoder built around it, serve from a SavedModel in a process
    that never imported this project (the export/serving situation)."""
    encoder = TextEncoder(vocab, max_seq_length=32)
    module = tf.Module()
    module.tokenizer, module.encoder = lower_graph, encoder
    module.tokenize = tf.function(
        lambda texts: {"ids": lower_graph(texts).to_tensor(-1)},
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    module.encode = tf.function(
        lambda a, b: encoder(a, b), input_signature=[tf.TensorSpec([None], tf.string)] * 2
    )
    export_dir = tmp_path / "tokenizer"
    tf.saved_model.save(module, str(export_dir), signatures={"serving_default": module.tokenize})
    texts = CORPUS + FUZZ[:200]
    pairs_b = texts[::-1]
    expected = {
        "ids": [FullTokenizer(vocab).encode(t) for t in texts],
        "packed": [list(encoder.encode_python(a, b)) for a, b in zip(texts, pairs_b, strict=True)],
    }
    (tmp_path / "texts.json").write_text(json.dumps([texts, pairs_b]), encoding="utf-8")
    script = textwrap.dedent(
        """
        import json, sys
        import tensorflow as tf
        import tensorflow_text  # noqa: F401  (registers FastWordpieceTokenizer's op)
        loaded = tf.saved_model.load(sys.argv[1])
        texts, pairs_b = json.load(open(sys.argv[2], encoding="utf-8"))
        ids = loaded.tokenizer(tf.constant(texts)).to_list()
        served = loaded.signatures["serving_default"](texts=tf.constant(texts))["ids"].numpy()
        assert [[i for i in row if i != -1] for row in served.tolist()] == ids
        out = {k: v.numpy() for k, v in loaded.encode(tf.constant(texts), tf.constant(pairs_b)).items()}
        packed = [
            [t[m == 1].tolist(), s[m == 1].tolist()]
            for t, s, m in zip(out["token_ids"], out["segment_ids"], out["padding_mask"])
        ]
        assert not [m for m in sys.modules if m.split(".")[0] in ("classifier", "transformers")]
        print(json.dumps({"ids": ids, "packed": packed}))
        """
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
    result = subprocess.run(
        [sys.executable, "-c", script, str(export_dir), str(tmp_path / "texts.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(tmp_path),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


# === vocab and API ===
def test_vocab_round_trip_and_line_endings(tmp_path):
    tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a\u2028b", "x\x85y", "中", "##中"]
    path = tmp_path / "v.txt"
    write_vocab(path, tokens)
    assert load_vocab(path) == tokens
    path.write_bytes(b"[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nlast")
    assert load_vocab(path) == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "last"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"[PAD]\n[UNK]\na\n[CLS]\na\n", "lines 3 and 5"),
        (b"[PAD]\n[UNK]\na\n[CLS]\n a \n", "lines 3 and 5"),  # Google looks up line.strip()
        (b"[PAD]\n\xff\n", "not valid UTF-8"),
    ],
)
def test_bad_vocab_files_fail_clearly(tmp_path, content, message):
    path = tmp_path / "v.txt"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        load_vocab(path)


def test_blank_vocab_lines_are_tolerated(tmp_path):
    path = tmp_path / "v.txt"
    path.write_text("[PAD]\n\n[UNK]\n\n[CLS]\n[SEP]\nab\n", encoding="utf-8")
    vocab = load_vocab(path)
    assert len(vocab) == 7
    full, graph = FullTokenizer(path), GraphTokenizer(path)
    assert full.encode("ab cd") == graph_ids(graph, ["ab cd"])[0] == [6, 2]  # "cd" is [UNK], line 3


def test_missing_special_tokens_fail_clearly():
    with pytest.raises(ValueError, match=r"\[CLS\]"):
        FullTokenizer(["[PAD]", "[UNK]", "[SEP]", "a"])
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        GraphTokenizer(["[PAD]", "[CLS]", "[SEP]", "a"])


def test_full_tokenizer_api(vocab, vocab_file):
    full = FullTokenizer(vocab_file)
    assert full.vocab == vocab and full.vocab_size == len(vocab)
    assert (full.pad_id, full.unk_id, full.cls_id, full.sep_id, full.mask_id) == (
        0,
        100,
        101,
        102,
        103,
    )
    tokens = full.tokenize("苹果iPhone")
    assert full.convert_ids_to_tokens(full.convert_tokens_to_ids(tokens)) == tokens
    assert full.tokenize("苹果".encode()) == ["苹", "果"]
    with pytest.raises(KeyError, match="not in the vocab"):
        full.convert_tokens_to_ids(["no-such-token"])
    assert FullTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]"]).mask_id is None


def test_tiny_vocab_layout():
    vocab = build_tiny_chinese_vocab(extra_texts=["龘靐 Zebra"])
    assert vocab[:2] == ["[PAD]", "[unused1]"] and vocab[99] == "[unused99]"
    assert vocab[100:106] == ["[UNK]", "[CLS]", "[SEP]", "[MASK]", "<S>", "<T>"]
    assert 1000 < len(vocab) < 5000 and len(set(vocab)) == len(vocab)
    for token in (
        "，",
        "。",
        "的",
        "##的",
        "龘",
        "##靐",
        "##0",
        "##9",
        "2019",
        "ip",
        "##hone",
        "z",
        "Z",
    ):
        assert token in vocab, token
    cjk = [t for t in vocab if len(t) == 1 and is_chinese_char(ord(t))]
    assert len(cjk) > 300
    assert build_tiny_chinese_vocab() == build_tiny_chinese_vocab()  # deterministic
