"""Command line of scripts/explain.sh: why a run's model says what it says about texts.

For each text: the prediction, the training rows nearest to it (cosine similarity of the
pooled representations, from the run's support index) with their labels, and the words that
drove the prediction (integrated gradients, as predict.sh --explain). ``--index`` builds the
support index once (train.sh builds it at the end of training for up to 50,000 rows); without
an up-to-date index the command stops and says how to build it, since building it costs a
forward pass over the whole training set (docs/explain.md).
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.flag_types import number, positive_int
from serving.text_io import INPUT_FORMATS

from .cli_flags import (
    add_bool,
    add_processor_arguments,
    add_verbosity,
    command_parser,
    quiet_serving_logs,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("explain")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Why a run's model says what it says: for each text its prediction, the training rows "
        "whose pooled representations are nearest to it (cosine) with their labels, and the "
        "words that drove the prediction (integrated gradients); JSON lines, one per text. "
        "--index builds the run's support index of training representations first.",
        [
            "scripts/explain.sh --output_dir=output/demo --index",
            "scripts/explain.sh --output_dir=output/demo --input_file=texts.txt --top_k=3 "
            "--output_file=why.jsonl",
            "scripts/explain.sh --output_dir=output/demo --index --data_dir=data/demo "
            "--input_file=texts.txt --no_words",
        ],
    )
    p.add_argument(
        "--output_dir",
        required=True,
        help="the run folder: a train.sh (or distill.sh) --output_dir",
    )
    g = p.add_argument_group("the support index (OUTPUT_DIR/support_index)")
    add_bool(
        g,
        "index",
        False,
        "build (or rebuild) the support index: the pooled representation of every training "
        "row, one forward pass over train.tsv; with --input_file, explain afterwards",
    )
    g.add_argument(
        "--data_dir",
        default=None,
        help="--index: the folder holding train.tsv (default: the one the run was trained on, "
        "as its run.json records it)",
    )
    add_processor_arguments(
        g,
        "tsv, pair, multilabel, hierarchical or yours (default: the run's task)",
        "train.tsv starts with a header line (default: as the run was trained)",
        task_default=None,
        header_default=None,
    )
    add_bool(
        g,
        "skip_bad_rows",
        None,
        "--index: skip malformed training rows (default: as the run was trained)",
    )
    g = p.add_argument_group("texts to explain")
    g.add_argument(
        "--input_file",
        help="one text per line (pair models: text_a<TAB>text_b), or a tsv / csv / jsonl file "
        "with a text column, as predict.sh reads them",
    )
    g.add_argument(
        "--input_format",
        choices=INPUT_FORMATS,
        default="auto",
        help="lines, tsv, csv or jsonl; auto: from the extension (anything else: lines)",
    )
    g.add_argument(
        "--text_column",
        default=None,
        help="tsv/csv/jsonl: the column holding the text (default: text, else text_a)",
    )
    g.add_argument(
        "--text_b_column",
        default=None,
        help="tsv/csv/jsonl, pair models: the column holding text_b (default: text_b)",
    )
    g.add_argument(
        "--output_file",
        help='JSON lines, one per text: "text", "label" (predicted), "score", "supporting" '
        '[{"line", "text", "label", "similarity"}, ...], "words" (default: stdout)',
    )
    g.add_argument(
        "--top_k",
        type=positive_int,
        default=3,
        metavar="K",
        help="supporting training rows per text, nearest first",
    )
    g = p.add_argument_group("words")
    add_bool(g, "no_words", False, "leave the word attributions out (faster)")
    g.add_argument(
        "--ig_steps",
        type=number(int, 1, 1000),
        default=50,
        metavar="N",
        help="integrated-gradients steps per explanation (more: closer to exact, slower)",
    )
    g.add_argument(
        "--ig_baseline",
        choices=("pad", "mask"),
        default="pad",
        help="what the words are compared with: [PAD] or [MASK] in their place",
    )
    p.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch")
    add_verbosity(p)
    return p


class UsageError(ValueError):
    """Flags or inputs that do not fit: the message names the flag or file:line."""


@dataclass
class Plan:
    """Everything checked before TensorFlow loads."""

    run: Path
    spec: Any  # ClassifierSpec
    rows: list[Any] | None  # serving.text_io.TextRow; None: nothing to explain
    task: Any = None  # the processor reading the training rows (--index)


def check_inputs(args: argparse.Namespace) -> Plan:
    """The run folder, the texts (read whole), the training data (--index) and the index
    (without --index): every bad input is found here, before any model loads."""
    from classifier.classifier_spec import ClassifierSpec
    from classifier.explain.support_index import load_support_index
    from classifier.files import refuse_writing_over_inputs
    from classifier.run_folder import SPEC_FILE, holds_trained_classifier

    if not args.index and not args.input_file:
        raise UsageError(
            "nothing to do: pass --index (build the support index), --input_file, or both"
        )
    run = Path(args.output_dir)
    if not holds_trained_classifier(run):
        raise UsageError(
            f"--output_dir={run} holds no trained classifier ({SPEC_FILE} missing): give a "
            "train.sh --output_dir"
        )
    refuse_writing_over_inputs(
        [("--output_file", args.output_file)],
        [("--input_file", args.input_file), ("--output_dir", args.output_dir)],
    )
    if args.output_file and not Path(args.output_file).resolve().parent.is_dir():
        raise UsageError(f"--output_file={args.output_file}: its folder does not exist")
    spec = ClassifierSpec.load(run / SPEC_FILE)
    rows = read_texts(args, spec.is_pair) if args.input_file else None
    if args.index:
        return Plan(run, spec, rows, training_task(args, run, spec))
    if rows is not None:
        load_support_index(run)  # missing or stale: say so now
    return Plan(run, spec, rows)


def read_texts(args: argparse.Namespace, is_pair: bool) -> list[Any]:
    from serving.text_io import Columns, input_format_for, read_text_rows

    path = args.input_file
    if not os.path.isfile(path):
        raise UsageError(f"--input_file={path}: no such file")
    columns = Columns(args.text_column, args.text_b_column)
    with open(path, "rb") as stream:
        rows = list(
            read_text_rows(
                stream, path, input_format_for(path, args.input_format), is_pair, columns
            )
        )
    if not rows:
        raise UsageError(f"--input_file={path}: no texts to explain (the file is empty)")
    for row in rows:
        if not row.text.strip():
            raise UsageError(f"{path}:{row.line}: an empty text: nothing to explain")
    return rows


def training_task(args: argparse.Namespace, run: Path, spec) -> Any:
    """The processor over the training data --index reads: the flags, else what the run
    recorded when it trained."""
    import processors
    from classifier.run_folder import recorded_training_data

    recorded = recorded_training_data(run)
    data_dir = args.data_dir or recorded.get("data_dir")
    if not data_dir:
        raise UsageError(
            f"--data_dir is required: {run}/run.json does not say where the run's training "
            "data is (a run made before it was recorded, or by FineTuner.fit)"
        )
    if not os.path.isdir(data_dir):
        flag = "--data_dir" if args.data_dir else f"the recorded data_dir ({run}/run.json)"
        raise UsageError(f"{flag}={data_dir}: no such folder")
    if args.processor_file:
        processors.load_processor_plugin(args.processor_file)
    task_name = args.task_name or spec.task_name
    cls = processors.get_processor(task_name)
    header = {"auto": "auto", "yes": True, "no": False}.get(args.header, recorded.get("header"))
    skip = args.skip_bad_rows if args.skip_bad_rows is not None else recorded.get("skip_bad_rows")
    task = cls(data_dir, skip_bad_rows=bool(skip), header="auto" if header is None else header)
    if bool(task.is_pair) != bool(spec.is_pair):
        raise UsageError(
            f"--task_name={task_name} reads {'pairs' if task.is_pair else 'single texts'}; "
            f"the model in {run} takes {'pairs' if spec.is_pair else 'single texts'}"
        )
    train = Path(data_dir) / getattr(task, "train_file", "train.tsv")
    if not train.is_file():
        raise UsageError(f"--data_dir={data_dir}: no {train.name} there")
    return task


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    quiet_serving_logs(args)
    import processors

    try:
        plan = check_inputs(args)
        explain(args, plan)
    except (ValueError, OSError, processors.DataError) as err:
        logger.error("%s", err)
        return 2
    return 0


def explain(args: argparse.Namespace, plan: Plan) -> None:
    from classifier.estimator import FineTuner
    from classifier.explain.run_support import build_run_index
    from classifier.explain.support_index import load_support_index
    from classifier.trained_model import VOCAB_FILE

    tuner = FineTuner.load(plan.run)
    encoder = plan.spec.text_encoder(plan.run / VOCAB_FILE)
    if plan.task is not None:
        index = build_run_index(
            plan.run, tuner.model_, plan.spec, encoder, plan.task, args.batch_size
        )
        skipped = getattr(plan.task, "skipped_rows", None) or []
        if skipped:
            shown = ", ".join(str(row) for row in skipped[:20])
            logger.warning("skipped %d bad training rows: %s", len(skipped), shown)
    else:
        index = load_support_index(plan.run)
    if plan.rows is None:
        return
    write_lines(args, explained_objects(args, plan, tuner, encoder, index))
    logger.info(
        "explained %d texts%s",
        len(plan.rows),
        f" into {args.output_file}" if args.output_file else "",
    )


def explained_objects(args: argparse.Namespace, plan: Plan, tuner, encoder, index):
    """One JSON object per text, batch by batch (see --output_file)."""
    from classifier.explain.representations import representer
    from classifier.iteration import chunks
    from serving.explaining import ExplainSettings, explanation_fields

    from .predict import run_folder_predictor

    predictor = run_folder_predictor(tuner, plan.run, args.batch_size)
    represent = representer(tuner.model_, encoder, args.batch_size)
    settings = ExplainSettings(args.ig_steps, args.ig_baseline)
    multilabel = predictor.info.is_multilabel
    for batch in chunks(plan.rows, args.batch_size):
        texts = [row.text for row in batch]
        texts_b = [row.text_b or "" for row in batch] if plan.spec.is_pair else None
        predictions = predictor.predict(texts, texts_b)
        supporting = index.nearest(represent(texts, texts_b), args.top_k)
        words = None if args.no_words else predictor.explain(texts, texts_b, predictions, settings)
        for i, (row, prediction) in enumerate(zip(batch, predictions, strict=True)):
            obj: dict[str, Any] = {"text": row.text}
            if plan.spec.is_pair:
                obj["text_b"] = row.text_b or ""
            if multilabel:
                obj["label"] = [item.label for item in prediction.decided]
                obj["score"] = [round(item.score, 6) for item in prediction.decided]
            else:
                obj["label"] = prediction.label
                obj["score"] = round(prediction.score, 6)
            obj["supporting"] = [r.to_dict() for r in supporting[i]]
            if words is not None:
                obj.update(explanation_fields(words[i]))
            yield obj


def write_lines(args: argparse.Namespace, objects) -> None:
    """JSON lines to stdout, or to --output_file whole or not at all (F.tmp, then renamed)."""
    if not args.output_file:
        for obj in objects:
            sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        return
    tmp = f"{args.output_file}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as out:
            for obj in objects:
                out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        os.replace(tmp, args.output_file)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


if __name__ == "__main__":
    sys.exit(main())
