"""scripts/augment.sh: EDA's word edits on jieba words, masked-LM refills, labels kept,
duplicates dropped, the same output for the same seed, and clear errors for bad inputs."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from curation.augmenter import AugmentSettings, augment_table
from curation.tsv_table import Table, read_table
from curation.word_edits import (
    choose_masked_words,
    random_deletion,
    random_insertion,
    random_swap,
    word_positions,
    words_to_change,
)
from scripts.augment import main
from tests.support.samples import CHINESE_SAMPLES

ROOT = Path(__file__).resolve().parent.parent

SENTENCE = "这部电影的剧情非常精彩，演员很出色。"
WORDS = ["这部", "电影", "的", "剧情", "非常", "精彩", "，", "演员", "很", "出色", "。"]
POSITIONS = [0, 1, 2, 3, 4, 5, 7, 8, 9]  # every word but the two punctuation marks

ROWS = [
    "体育\t中超第6轮，浙江队5比0逆转武汉三镇，继续领跑积分榜",
    "科技\t今天天气很好，我们去公园散步吧！",
    "娱乐\t这部电影的剧情非常精彩，演员很出色。",
    "财经\t股票市场今天大涨，投资者非常高兴。",
]


@pytest.fixture(scope="module")
def segment():
    from classifier.pretraining.words import JiebaSegmenter

    return JiebaSegmenter().words


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


# === Word edits, by hand ===


def test_jieba_cuts_the_fixed_sentence_into_words_and_punctuation(segment):
    assert segment(SENTENCE) == WORDS
    assert word_positions(WORDS) == POSITIONS
    assert word_positions(["iPhone", " ", "12", "发布", "了", "！"]) == [0, 2, 3, 4]


@pytest.mark.parametrize(
    ("num_words", "alpha", "expected"),
    [(9, 0.1, 1), (5, 0.1, 1), (10, 0.1, 1), (30, 0.1, 3), (10, 0.3, 3), (9, 0.5, 4)],
)
def test_words_changed_are_max_of_one_and_alpha_times_words(num_words, alpha, expected):
    assert words_to_change(num_words, alpha) == expected


def test_swap_exchanges_the_two_words_the_seed_draws():
    assert random.Random(0).sample(POSITIONS, 2) == [7, 9]  # 演员 and 出色
    swapped = random_swap(WORDS, 0.1, random.Random(0))
    assert swapped == [
        "这部",
        "电影",
        "的",
        "剧情",
        "非常",
        "精彩",
        "，",
        "出色",
        "很",
        "演员",
        "。",
    ]
    # alpha 0.3 of 9 words: int(2.7) = 2 swaps, of words only: punctuation stays in place.
    two = random_swap(WORDS, 0.3, random.Random(0))
    assert sorted(two) == sorted(WORDS) and two[6] == "，" and two[10] == "。"
    assert random_swap(["好", "！"], 0.5, random.Random(0)) == ["好", "！"]  # one word: nothing


def test_delete_drops_each_word_with_probability_alpha_never_all():
    draws = random.Random(0)
    assert [round(draws.random(), 3) for _ in POSITIONS] == [
        0.844, 0.758, 0.421, 0.259, 0.511, 0.405, 0.784, 0.303, 0.477,
    ]  # fmt: skip
    # alpha 0.3: only the 4th word's draw (0.259, 剧情) is under it.
    deleted = random_deletion(WORDS, 0.3, random.Random(0))
    assert deleted == ["这部", "电影", "的", "非常", "精彩", "，", "演员", "很", "出色", "。"]
    # alpha 0.1: no draw under it, so one word is dropped anyway (a 10th draw picks it).
    once = random_deletion(WORDS, 0.1, random.Random(0))
    assert len(once) == len(WORDS) - 1 and "，" in once and "。" in once
    # alpha 0.99: every draw is under it, but one word is always kept.
    kept = random_deletion(WORDS, 0.99, random.Random(0))
    assert len(kept) == 3 and kept[1:] == ["，", "。"] and kept[0] in WORDS
    assert random_deletion(["好", "！"], 0.99, random.Random(0)) == ["好", "！"]


def test_insert_puts_a_copy_of_a_word_of_the_text_at_a_random_place():
    draws = random.Random(0)
    assert (draws.choice(POSITIONS), draws.randrange(len(WORDS) + 1)) == (7, 6)
    inserted = random_insertion(WORDS, 0.1, random.Random(0))
    assert inserted == WORDS[:6] + ["演员"] + WORDS[6:]  # 演员 copied before the comma
    two = random_insertion(WORDS, 0.3, random.Random(0))  # int(0.3 * 9) = 2 copies
    assert len(two) == len(WORDS) + 2 and set(two) == set(WORDS)
    assert random_insertion(["！"], 0.5, random.Random(0)) == ["！"]  # no word to copy


def test_masked_words_are_drawn_from_the_maskable_ones():
    # int(0.34 * 9 words) = 3 of them, but only among those the model sees.
    chosen = choose_masked_words(WORDS, 0.34, random.Random(0), maskable=[0, 1, 3, 4])
    assert len(chosen) == 3 and set(chosen) <= {0, 1, 3, 4} and chosen == sorted(chosen)
    assert choose_masked_words(WORDS, 0.34, random.Random(0), maskable=[5]) == [5]
    assert choose_masked_words(WORDS, 0.3, random.Random(0), maskable=[]) == []


# === Rows: labels, order, duplicates, seeds ===


def table_of(rows: list[str], columns: tuple[int, ...] = (1,)) -> Table:
    return Table(None, [tuple(row.split("\t")) for row in rows], columns)


def test_originals_come_first_then_each_rows_augmentations_with_its_label(segment):
    table = table_of(ROWS)
    settings = AugmentSettings(num_aug=3, seed=1)
    rows, summary = augment_table(table, settings, segment)
    assert rows[: len(ROWS)] == table.rows
    augmented = rows[len(ROWS) :]
    labels = [row[0] for row in augmented]
    assert labels == sorted(labels, key=[r[0] for r in table.rows].index)  # grouped, in order
    for label, original in table.rows:
        mine = [text for lab, text in augmented if lab == label]
        assert 1 <= len(mine) <= 3 and original not in mine
    assert summary.rows_in == 4 and summary.rows_out == len(rows)
    assert sum(summary.kept.values()) + sum(summary.dropped.values()) == 12
    # Augmentation i*K + j takes methods[(i*K + j) % 3]: 4 of each method.
    assert {m: summary.kept[m] + summary.dropped[m] for m in settings.methods} == {
        "swap": 4, "delete": 4, "insert": 4,
    }  # fmt: skip


def test_exact_duplicates_of_any_earlier_row_are_dropped_and_counted(segment):
    # "好" cannot be swapped or shortened: those copy the original; both rows' insertions
    # make "好好", the second a copy of the first's.
    table = table_of(["体育\t好", "体育\t好"])
    rows, summary = augment_table(table, AugmentSettings(num_aug=3), segment)
    assert rows == [("体育", "好"), ("体育", "好"), ("体育", "好好")]
    assert dict(summary.kept) == {"insert": 1}
    assert dict(summary.dropped) == {"swap": 2, "delete": 2, "insert": 1}
    assert summary.line(("swap", "delete", "insert")) == (
        "2 rows in, 3 rows out (2 original, 1 augmented), 5 duplicates dropped; "
        "per method (kept/dropped): swap 0/2, delete 0/2, insert 1/1"
    )
    alone, _ = augment_table(table, AugmentSettings(num_aug=3, keep_original=False), segment)
    assert alone == [("体育", "好好")]  # copies of the originals are dropped all the same


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(segment):
    table = table_of(ROWS)
    first, _ = augment_table(table, AugmentSettings(num_aug=4, seed=7), segment)
    again, _ = augment_table(table, AugmentSettings(num_aug=4, seed=7), segment)
    other, _ = augment_table(table, AugmentSettings(num_aug=4, seed=8), segment)
    assert first == again and first != other
    longer, _ = augment_table(table_of([*ROWS, "体育\t好"]), AugmentSettings(seed=7), segment)
    assert longer[5 : 5 + len(first) - 4] == first[4:]  # a row added at the end changes nothing


def test_pairs_edit_text_a_only_unless_both_are_asked_for(segment):
    table = table_of(["1\t今天天气很好，我们去公园散步吧！\t这部电影的剧情非常精彩"], (1, 2))
    rows, _ = augment_table(table, AugmentSettings(num_aug=3), segment)
    assert all(row[0] == "1" and row[2] == "这部电影的剧情非常精彩" for row in rows)
    both, _ = augment_table(table, AugmentSettings(num_aug=3, augment_both=True), segment)
    assert any(row[2] != "这部电影的剧情非常精彩" for row in both[1:])


def test_files_are_read_by_the_task_processor_header_and_labels_as_written(tmp_path):
    path = write(tmp_path / "train.tsv", ["labels\ttext", "体育|财经\t中超开赛", "\t没有标签"])
    table = read_table(path, "multilabel")
    assert table.header == ("labels", "text")
    assert table.rows == [("体育|财经", "中超开赛"), ("", "没有标签")]
    pair = read_table(write(tmp_path / "pair.tsv", ["1\t你好\t您好"]), "pair")
    assert pair.header is None and pair.text_columns == (1, 2)


# === The masked LM ===


@pytest.fixture(scope="module")
def filler(google_bert_dir):
    from curation.mlm_fill import MaskedWordFiller

    return MaskedWordFiller(google_bert_dir, batch_size=2)


def test_mlm_fills_the_masked_word_with_vocabulary_tokens_and_keeps_the_others(filler, segment):
    import numpy as np

    words = segment(CHINESE_SAMPLES[0])  # 今天天气 很 好 ， 我们 去 公园 散步 吧 ！
    position = words.index("公园")
    (filled,) = filler.fill([(words, [position])])
    assert filled[:position] == words[:position] and filled[position + 1 :] == words[position + 1 :]
    # The model's own best guesses for 公 and 园 masked together: any token but a special one,
    # punctuation or the one it replaces.
    tokenizer = filler.tokenizer
    ids = tokenizer.encode(CHINESE_SAMPLES[0])
    start = tokenizer.tokenize(CHINESE_SAMPLES[0]).index("公")
    masked = [tokenizer.cls_id, *ids, tokenizer.sep_id]
    places = [start + 1, start + 2]
    for place in places:
        masked[place] = tokenizer.mask_id
    logits = filler.model(
        {
            "token_ids": np.array([masked], "int32"),
            "segment_ids": np.zeros((1, len(masked)), "int32"),
            "padding_mask": np.ones((1, len(masked)), "int32"),
            "masked_positions": np.array([places], "int32"),
        }
    ).numpy()[0]
    vocab = tokenizer.vocab
    expected = []
    for scores, original in zip(logits, ("公", "园"), strict=True):
        ranked = [vocab[i] for i in np.argsort(-scores)]
        expected.append(
            next(
                t
                for t in ranked
                if t != original and not t.startswith(("[", "<")) and t.strip("#").isalnum()
            )
        )
    assert filled[position] == "".join(t.removeprefix("##") for t in expected) != "公园"


def test_mlm_batches_give_what_single_texts_give(filler, segment):
    requests = [(segment(text), [0]) for text in CHINESE_SAMPLES[:5]]
    batched = filler.fill(requests)  # batch_size 2: three batches, padded
    assert batched == [filler.fill([request])[0] for request in requests]


def test_only_words_inside_max_seq_length_are_maskable(google_bert_dir, segment):
    from curation.mlm_fill import MaskedWordFiller

    short = MaskedWordFiller(google_bert_dir, max_seq_length=8)  # 6 tokens besides CLS/SEP
    words = segment(CHINESE_SAMPLES[0])  # 今天天气(4) 很(1) 好(1) ，(1) ...
    assert short.maskable(words) == [0, 1, 2]


def test_a_checkpoint_without_mlm_weights_is_refused(tmp_path):
    from classifier.checkpoints.tiny import tiny_bert_config, write_tiny_folder
    from curation.mlm_fill import MaskedWordFiller, NoMaskedLMHead
    from tests.support.samples import tiny_vocab

    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    folder = write_tiny_folder(tmp_path / "bert_model", vocab, config, "hf_bert")  # BertModel
    with pytest.raises(NoMaskedLMHead, match="has no masked-LM head"):
        MaskedWordFiller(folder)


# === The command ===


def test_command_writes_originals_then_augmented_rows_and_a_summary(tmp_path, capsys):
    source = write(tmp_path / "train.tsv", ["label\ttext", *ROWS])
    out = tmp_path / "out" / "aug.tsv"
    flags = [f"--input_file={source}", f"--output_file={out}", "--num_aug=2", "--seed=3"]
    assert main(flags) == 0
    summary = capsys.readouterr().out
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[: len(ROWS) + 1] == ["label\ttext", *ROWS]
    assert f"4 rows in, {len(lines) - 1} rows out (4 original" in summary and str(out) in summary
    assert main([*flags, "--keep_original=false"]) == 0
    alone = out.read_text(encoding="utf-8").splitlines()  # the same seed: the same rows
    assert alone == ["label\ttext", *lines[len(ROWS) + 1 :]]
    assert [p.name for p in out.parent.iterdir()] == ["aug.tsv"]  # no temporary file left


@pytest.mark.parametrize(
    ("lines", "flags", "message"),
    [
        (None, [], "--input_file={src} does not exist"),
        (["体育\t好", "体育"], [], "{src}:2: wrong column count"),
        (ROWS, ["--methods=mlm"], "--methods=mlm needs --model_dir"),
        (ROWS, ["--output_file={src}"], "is the same file as --input_file"),
    ],
)
def test_bad_inputs_get_one_line_and_status_2_and_write_nothing(
    tmp_path, capsys, lines, flags, message
):
    source = tmp_path / "train.tsv"
    if lines is not None:
        write(source, lines)
    before = source.read_bytes() if lines is not None else None
    out = tmp_path / "aug.tsv"
    given = [f"--input_file={source}", f"--output_file={out}"]
    given += [flag.format(src=source) for flag in flags]
    assert main(given) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message.format(src=source) in err, err
    assert not out.exists() and (before is None or source.read_bytes() == before)


@pytest.mark.parametrize(
    ("methods", "message"),
    [("swap,synonym", "unknown method 'synonym'"), ("swap,swap", "given twice")],
)
def test_unknown_or_repeated_methods_stop_at_the_command_line(tmp_path, capsys, methods, message):
    with pytest.raises(SystemExit) as stopped:
        main(["--input_file=x", "--output_file=y", f"--methods={methods}"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert "argument --methods:" in err and message in err


def test_a_model_dir_without_mlm_weights_is_one_line_and_status_2(tmp_path, capsys):
    from classifier.checkpoints.tiny import tiny_bert_config, write_tiny_folder
    from tests.support.samples import tiny_vocab

    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), num_layers=2, hidden_size=32)
    folder = write_tiny_folder(tmp_path / "bert_model", vocab, config, "hf_bert")
    source = write(tmp_path / "train.tsv", ROWS)
    flags = [f"--input_file={source}", f"--output_file={tmp_path / 'aug.tsv'}"]
    assert main([*flags, "--methods=swap,mlm", f"--model_dir={folder}"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "has no masked-LM head" in err[0] and str(folder) in err[0]
    assert not (tmp_path / "aug.tsv").exists()


@pytest.mark.slow
def test_augment_sh_with_mlm_on_the_tiny_bert(tmp_path, google_bert_dir):
    source = write(tmp_path / "train.tsv", ROWS)
    out = tmp_path / "aug.tsv"
    done = subprocess.run(
        [
            str(ROOT / "scripts" / "augment.sh"),
            f"--input_file={source}",
            f"--output_file={out}",
            "--num_aug=2",
            "--methods=mlm,swap",
            f"--model_dir={google_bert_dir}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    rows = [tuple(line.split("\t")) for line in out.read_text(encoding="utf-8").splitlines()]
    originals = dict(row.split("\t") for row in ROWS)  # one row per label
    assert rows[:4] == [tuple(row.split("\t")) for row in ROWS]
    labels = [label for label, _ in rows[4:]]
    assert labels == sorted(labels, key=list(originals).index)  # each row's copies, in order
    assert all(text != originals[label] for label, text in rows[4:])
    # Each row's first augmentation is mlm's (a guess always changes a word): never dropped.
    assert "per method (kept/dropped): mlm 4/0" in done.stdout
    assert "Traceback" not in done.stderr
