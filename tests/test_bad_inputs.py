"""Bad input at every entry point: a clear message naming the flag, file or line, exit code 2
(1 for a run that diverged), no traceback, and nothing already written lost or half-written."""

from __future__ import annotations

import importlib
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

NUMBERS = [
    ("scripts.train", "--learning_rate", ["inf", "nan", "0", "-1e-5"]),
    ("scripts.train", "--num_train_epochs", ["inf", "0", "nan"]),
    ("scripts.train", "--train_batch_size", ["0", "-4", "1.5"]),
    ("scripts.train", "--warmup_proportion", ["1.5", "nan"]),
    ("scripts.train", "--max_seq_length", ["0", "100000"]),
    ("scripts.train", "--save_checkpoints_steps", ["0"]),
    ("scripts.train", "--gradient_accumulation_steps", ["0"]),
    ("scripts.train", "--ema_decay", ["1", "inf"]),
    ("scripts.train", "--head_dropout", ["1"]),
    ("scripts.train", "--lora_alpha", ["inf", "nan"]),
    ("scripts.pretrain", "--learning_rate", ["inf", "0"]),
    ("scripts.pretrain", "--num_train_steps", ["0"]),
    ("scripts.pretrain", "--masked_lm_prob", ["0", "nan"]),
    ("scripts.serve", "--port", ["70000", "-1"]),
    ("scripts.serve", "--request_timeout", ["inf", "0"]),
    ("scripts.serve", "--max_batch_wait_ms", ["nan"]),
    ("scripts.predict", "--batch_size", ["0"]),
    ("scripts.export", "--version", ["-1"]),
    ("scripts.baseline", "--C", ["inf", "0"]),
    ("scripts.distill", "--temperature", ["0", "inf", "nan"]),
    ("scripts.distill", "--kd_loss_weight", ["-1", "nan"]),
    ("scripts.distill", "--num_student_layers", ["0"]),
    ("scripts.distill", "--student_layers", ["a,b"]),
]


@pytest.mark.parametrize(
    ("module", "flag", "value"),
    [(m, f, v) for m, f, values in NUMBERS for v in values],
)
def test_out_of_range_or_non_finite_numbers_stop_at_the_command_line(module, flag, value, capsys):
    parser = importlib.import_module(module).build_parser()
    required = {
        "scripts.train": ["--output_dir=x"],
        "scripts.pretrain": ["--output_dir=x"],
        "scripts.distill": ["--output_dir=x"],
    }
    with pytest.raises(SystemExit) as stopped:
        parser.parse_args([*required.get(module, []), *extra_required(parser), f"{flag}={value}"])
    assert stopped.value.code == 2
    message = capsys.readouterr().err
    assert f"argument {flag}:" in message and repr(value) in message, message


def extra_required(parser) -> list[str]:
    """Values for the parser's other required flags, so only the flag under test can fail."""
    given = []
    for action in parser._actions:
        if action.required and action.option_strings[0] not in ("--output_dir",):
            given.append(f"{action.option_strings[0]}=x")
    return given


def test_written_files_and_export_folders_are_readable_by_others(tmp_path):
    from classifier.files import atomic_write_text, make_shareable

    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.txt", "ok")
        assert stat.S_IMODE(os.stat(tmp_path / "report.txt").st_mode) == 0o644
        import tempfile

        folder = Path(tempfile.mkdtemp(dir=tmp_path))
        (folder / "variables").mkdir()
        (folder / "variables" / "v.data").write_text("x")
        os.chmod(folder / "variables" / "v.data", 0o600)
        make_shareable(folder)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o755
        assert stat.S_IMODE(os.stat(folder / "variables" / "v.data").st_mode) == 0o644
    finally:
        os.umask(old)


def test_invalid_utf8_is_reported_with_its_line():
    import io

    from serving.repl import InputTextError, utf8_lines

    stream = io.BytesIO("\ufeff好\n很好\n".encode() + b"\xff\xfe bad\n")
    lines = utf8_lines(stream, "texts.txt")
    assert next(lines) == "好\n" and next(lines) == "很好\n"  # a BOM is not part of the text
    with pytest.raises(InputTextError, match=r"texts.txt:3: not valid UTF-8 \(byte 0xff"):
        next(lines)


def train(*flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / "train.sh"), *flags],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHON": sys.executable},
        timeout=600,
    )


def demo_flags(data: Path, model: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--do_train",
        "--do_eval",
        f"--data_dir={data}",
        f"--model_dir={model}",
        f"--output_dir={out}",
        "--max_seq_length=48",
        *extra,
    ]


def assert_clean_error(result: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    for needle in needles:
        assert needle in result.stderr, result.stderr[-2000:]


@pytest.fixture
def demo_copy(tmp_path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    return data


@pytest.mark.slow
@pytest.mark.parametrize(
    ("content", "why"),
    [("", "is empty"), ("label\ttext\n", "holds only a header")],
)
def test_an_empty_dev_file_is_named_before_training(
    content, why, demo_copy, demo_bert_dir, tmp_path
):
    (demo_copy / "dev.tsv").write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    result = train(*demo_flags(demo_copy, demo_bert_dir, out))
    assert_clean_error(result, 2, f"{demo_copy / 'dev.tsv'}: {why}")
    assert not out.exists()


@pytest.mark.slow
def test_a_directory_in_place_of_train_tsv_is_named(demo_copy, demo_bert_dir, tmp_path):
    (demo_copy / "train.tsv").unlink()
    (demo_copy / "train.tsv").mkdir()
    result = train(*demo_flags(demo_copy, demo_bert_dir, tmp_path / "out"))
    assert_clean_error(result, 2, "train.tsv: is a directory")


@pytest.mark.slow
def test_a_truncated_checkpoint_is_named(demo_bert_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(demo_bert_dir, model)
    data_file = next(model.glob("*.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:2000])
    result = train(*demo_flags(ROOT / "data" / "demo", model, tmp_path / "out"))
    assert_clean_error(result, 2, "cannot be read", "truncated or damaged", str(model))
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_loss_that_turns_nan_stops_the_run_and_saves_nothing(demo_bert_dir, tmp_path):
    out = tmp_path / "out"
    flags = demo_flags(ROOT / "data" / "demo", demo_bert_dir, out, "--learning_rate=1e30")
    result = train(*flags, "--save_checkpoints_steps=1")
    assert_clean_error(result, 1, "the training loss became")
    assert not (out / "model.weights.h5").exists()
    assert not (out / "train_summary.json").exists()


@pytest.mark.slow
def test_a_damaged_resume_checkpoint_is_named(demo_bert_dir, tmp_path):
    out = tmp_path / "out"
    flags = demo_flags(ROOT / "data" / "demo", demo_bert_dir, out, "--save_checkpoints_steps=5")
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", "batch:7", "scripts.train", *flags],
        capture_output=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -9
    data_file = next((out / "checkpoints").glob("ckpt-5.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:1000])
    result = train(*flags)
    assert_clean_error(
        result, 1, "cannot resume from", "ckpt-5", f"rm -r {out / 'checkpoints'}", "--overwrite"
    )


@pytest.mark.slow
def test_a_damaged_latest_resume_checkpoint_falls_back_to_the_one_before(demo_bert_dir, tmp_path):
    out = tmp_path / "out"
    flags = demo_flags(ROOT / "data" / "demo", demo_bert_dir, out, "--save_checkpoints_steps=3")
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.killed_run", "batch:8", "scripts.train", *flags],
        capture_output=True,
        cwd=ROOT,
        timeout=600,
    )
    assert killed.returncode == -9
    data_file = next((out / "checkpoints").glob("ckpt-6.data-*"))
    data_file.write_bytes(data_file.read_bytes()[:1000])
    result = train(*flags)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "ckpt-6" in result.stderr and "resuming from" in result.stderr
    assert "resuming from step 3 of" in result.stderr


@pytest.mark.slow
def test_predict_sh_names_the_line_of_invalid_utf8_and_keeps_the_old_output(
    serving_models, tmp_path
):
    source = tmp_path / "texts.txt"
    source.write_bytes("很好\n".encode() * 3 + b"\xc3\x28\n")
    target = tmp_path / "out.tsv"
    target.write_text("earlier output\n", encoding="utf-8")
    result = subprocess.run(
        [
            str(ROOT / "scripts" / "predict.sh"),
            f"--export_dir={serving_models['multiclass'].export_dir}",
            f"--input_file={source}",
            f"--output_file={target}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert_clean_error(result, 2, f"{source}:4: not valid UTF-8")
    assert target.read_text(encoding="utf-8") == "earlier output\n"
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.slow
def test_a_vocab_of_another_size_than_the_checkpoint_is_refused(demo_bert_dir, tmp_path):
    from classifier.checkpoints import load_pretrained
    from classifier.config import ConfigError

    model = tmp_path / "model"
    shutil.copytree(demo_bert_dir, model)
    tokens = (model / "vocab.txt").read_text(encoding="utf-8").splitlines()
    (model / "vocab.txt").write_text("\n".join(tokens[:1000]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = train(*demo_flags(ROOT / "data" / "demo", model, out))
    assert_clean_error(
        result, 2, "holds 1000 tokens", f"vocab_size {len(tokens)}", "--allow_vocab_mismatch"
    )
    assert not out.exists()
    # The rare intended case: an embedding table with unused rows.
    assert load_pretrained(model, allow_vocab_mismatch=True).config.vocab_size == len(tokens)
    (model / "vocab.txt").write_text("\n".join(tokens + ["额外"]) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"holds {len(tokens) + 1} tokens"):
        load_pretrained(model, allow_vocab_mismatch=True)


@pytest.mark.slow
def test_a_multilabel_label_holding_the_separator_names_its_line(demo_bert_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo_multilabel", data)
    labels = (data / "labels.txt").read_text(encoding="utf-8").splitlines()
    (data / "labels.txt").write_text("\n".join([*labels, "DV1|DV2"]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = train(*demo_flags(data, demo_bert_dir, out, "--task_name=multilabel"))
    assert_clean_error(result, 2, f"labels.txt:{len(labels) + 1}", "'DV1|DV2'", "separator")
    assert not out.exists()


def test_labels_that_are_one_number_written_two_ways_are_warned_about(tmp_path, caplog):
    from processors import get_processor

    rows = ["1\t很好", "1.0\t不错", "0\t很差", "00\t太差了"]
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        labels = get_processor("tsv")(tmp_path).get_labels()
    assert labels == ["0", "00", "1", "1.0"]  # still four classes: the data says so
    warned = caplog.text
    assert "'0' and '00'" in warned and "'1' and '1.0'" in warned


def same_file_cases(tmp_path: Path) -> list[tuple[str, list[str], Path, str]]:
    """(script module, flags, the input that must survive, the flag named) for each command
    that writes a file or folder, the output pointing at an input (once through a link)."""
    texts = tmp_path / "texts.txt"
    texts.write_text("很好\n很差\n", encoding="utf-8")
    link = tmp_path / "link.txt"
    link.symlink_to(texts)
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "demo", data)
    run = tmp_path / "run"
    run.mkdir()
    (run / "classifier_config.json").write_text("{}", encoding="utf-8")
    exports = tmp_path / "exports"
    exports.mkdir()
    return [
        (
            "scripts.predict",
            [f"--export_dir={exports}", f"--input_file={texts}", f"--output_file={texts}"],
            texts,
            "--output_file",
        ),
        (
            "scripts.predict",
            [f"--export_dir={exports}", f"--input_file={texts}", f"--output_file={link}"],
            texts,
            "--output_file",
        ),
        (
            "scripts.build_vocab",
            [f"--input_file={texts}", f"--output_file={link}"],
            texts,
            "--output_file",
        ),
        (
            "scripts.baseline",
            [f"--data_dir={data}", f"--output_file={data / 'dev.tsv'}"],
            data / "dev.tsv",
            "--output_file",
        ),
        (
            "scripts.baseline",
            [f"--data_dir={data}", f"--output_dir={data}"],
            data / "dev.tsv",
            "--output_dir",
        ),
        (
            "scripts.export",
            [f"--output_dir={run}", f"--export_dir={run}"],
            run / "classifier_config.json",
            "--export_dir",
        ),
        (
            "scripts.train",
            [
                "--do_train",
                f"--data_dir={data}",
                f"--model_dir={run}",
                f"--output_dir={run}",
                "--overwrite",
            ],
            run / "classifier_config.json",
            "--output_dir",
        ),
        (
            "scripts.train",
            [
                "--do_train",
                f"--data_dir={data}",
                f"--model_dir={run}",
                f"--output_dir={data}",
                "--overwrite",
            ],
            data / "train.tsv",
            "--output_dir",
        ),
        (
            "scripts.convert_checkpoint",
            [f"--input_dir={run}", f"--output_dir={run}", "--to=hf"],
            run / "classifier_config.json",
            "--output_dir",
        ),
    ]


@pytest.mark.parametrize("case", range(9))
def test_an_output_that_is_an_input_is_refused_before_anything_is_written(
    case, tmp_path, caplog, capsys
):
    module, flags, kept, flag = same_file_cases(tmp_path)[case]
    before = kept.read_bytes()
    code = importlib.import_module(module).main(flags)
    assert code == 2
    said = caplog.text + capsys.readouterr().err
    assert f"{flag}=" in said and "would destroy the input" in said, said
    assert kept.read_bytes() == before


def test_what_stands_in_place_of_a_data_file_is_named(tmp_path):
    from processors import DataError, get_processor

    data = tmp_path / "data"
    data.mkdir()
    (data / "dev.tsv").write_text("体育\t比赛\n", encoding="utf-8")
    (data / "train.tsv").symlink_to(data / "train.tsv")  # a link to itself
    with pytest.raises(DataError, match="train.tsv: is a symbolic link that loops"):
        get_processor("tsv")(data).get_train_examples()
    (data / "train.tsv").unlink()
    os.mkfifo(data / "train.tsv")
    with pytest.raises(DataError, match=r"train.tsv: is a named pipe \(FIFO\)"):
        get_processor("tsv")(data).get_train_examples()
    (data / "train.tsv").unlink()
    (data / "train.tsv").symlink_to(tmp_path / "gone.tsv")
    with pytest.raises(DataError, match="which does not exist"):
        get_processor("tsv")(data).get_train_examples()
    a_file = tmp_path / "train.tsv"
    a_file.write_text("体育\t比赛\n", encoding="utf-8")
    with pytest.raises(DataError, match="is a file, not a folder: --data_dir names the folder"):
        get_processor("tsv")(a_file).get_train_examples()


def test_an_output_dir_that_cannot_be_created_says_so(tmp_path):
    from classifier.run_folder import RunFolderError, open_run_folder

    with pytest.raises(RunFolderError, match=r"--output_dir /proc/zh_textclf/run cannot be"):
        open_run_folder("/proc/zh_textclf/run", {}, False, ())
    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    with pytest.raises(RunFolderError, match="exists and is not a directory"):
        open_run_folder(a_file, {}, False, ())
