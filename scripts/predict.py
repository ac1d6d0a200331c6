"""Command line of scripts/predict.sh: a REPL on a terminal, a TSV of predictions otherwise.

scripts/predict.sh --export_dir exported/demo                      # REPL: prompt, label, score
scripts/predict.sh --export_dir exported/demo < texts.txt > predictions.tsv
scripts/predict.sh --export_dir exported/demo --input_file texts.txt --output_file out.tsv
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import contextlib
import logging
import os
import sys

from classifier.flag_types import positive_int

from .cli_flags import add_bool, add_verbosity, command_parser, setup_logging, verbosity

logger = logging.getLogger("predict")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Predict with an exported SavedModel: an interactive REPL on a terminal; "
        "with --input_file or piped stdin, one text per line (pair models: text_a<TAB>text_b) "
        "in, a TSV of predictions out.",
        [
            "scripts/predict.sh --export_dir=exported/my_task                    # a REPL",
            "scripts/predict.sh --export_dir=exported/my_task --input_file=texts.txt --output_file=predictions.tsv",
            "printf '物流很快，好评\\n' | scripts/predict.sh --export_dir=exported/my_task",
        ],
    )
    p.add_argument(
        "--export_dir", required=True, help="export.sh --export_dir (or one version folder)"
    )
    p.add_argument(
        "--version", type=positive_int, default=None, help="version (default: the highest)"
    )
    p.add_argument("--input_file", help="texts, one per line (default: stdin)")
    p.add_argument("--output_file", help="TSV of predictions (default: stdout)")
    p.add_argument("--batch_size", type=positive_int, default=64, help="texts per batch")
    add_bool(
        p,
        "interactive",
        None,
        "force the REPL (true) or the TSV mode (false); default: REPL when stdin is a terminal",
    )
    add_verbosity(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    if verbosity(args) != "debug":
        import serving  # its loggers are "zh_textclf.serving.*" when installed from a wheel

        logging.getLogger(serving.__name__).setLevel(logging.WARNING)
    from classifier.files import refuse_writing_over_inputs
    from serving.versions import NoModelError, select_version

    try:
        refuse_writing_over_inputs(
            [("--output_file", args.output_file)],
            [("--input_file", args.input_file), ("--export_dir", args.export_dir)],
        )
        stale = f"{args.output_file}.tmp" if args.output_file else None
        if stale is not None and os.path.isfile(stale):  # left by a killed run of this command
            os.remove(stale)
        chosen = select_version(args.export_dir, args.version)  # before TensorFlow loads
        from serving.predictor import Predictor
        from serving.repl import InputTextError, run_repl, utf8_lines, write_predictions_tsv

        predictor = Predictor.from_version(chosen, batch_size=args.batch_size)
    except (NoModelError, ValueError) as err:
        logger.error("%s", err)
        return 2

    interactive = args.interactive
    if interactive is None:
        interactive = args.input_file is None and sys.stdin.isatty()
    if interactive:
        try:
            return run_repl(predictor, sys.stdin, sys.stdout)
        except KeyboardInterrupt:
            print(file=sys.stdout)
            return 0

    name = args.input_file or "<stdin>"
    tmp = f"{args.output_file}.tmp" if args.output_file else None
    try:
        with contextlib.ExitStack() as stack:
            binary = (
                stack.enter_context(open(args.input_file, "rb"))
                if args.input_file
                else sys.stdin.buffer
            )
            lines = utf8_lines(binary, name)
            if tmp is None:
                count = write_predictions_tsv(predictor, lines, sys.stdout, args.batch_size * 4)
            else:  # written beside the target, renamed when complete
                with open(tmp, "w", encoding="utf-8", newline="") as target:
                    count = write_predictions_tsv(predictor, lines, target, args.batch_size * 4)
                os.replace(tmp, args.output_file)
    except (InputTextError, OSError) as err:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)  # nothing half-written is left; an earlier output file is kept
        logger.error("%s", err)
        return 2
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)
        raise
    logger.info(
        "predicted %d texts%s", count, f" into {args.output_file}" if args.output_file else ""
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
