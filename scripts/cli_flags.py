"""Flag parsing shared by the command-line entry points (absl-style booleans included)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import textwrap
from pathlib import Path

from classifier.flag_types import positive_int, str2bool


class HelpFormatter(argparse.HelpFormatter):
    """--help with each default shown once (never "None", never twice), each number's range,
    a short usage line (the required flags, then [options]) and examples kept as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            if line.startswith(" ") or not line.strip():
                lines.append(indent + line)  # an example: as written
            else:
                lines.append(
                    textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
                )
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if text == argparse.SUPPRESS or not action.option_strings:
            return text
        notes = []
        default = action.default
        shown = default not in (None, False, argparse.SUPPRESS, "", [], ())
        if shown and not action.required and "default" not in text.lower():
            value = "true" if default is True else default
            if isinstance(value, list | tuple):
                value = ",".join(str(v) for v in value)
            notes.append(f"default: {value}")
        bounds = getattr(action.type, "bounds", "")
        if bounds and "range" not in text.lower():
            notes.append(f"range: {bounds}")
        if action.required:
            notes.append("required")
        return f"{text} ({'; '.join(notes)})" if notes else text

    def add_usage(self, usage, actions, groups, prefix=None) -> None:
        if usage is None:

            def shown(action: argparse.Action) -> str:
                return f"{action.option_strings[-1]}={action.metavar or action.dest.upper()}"

            required = [shown(a) for a in actions if a.required and a.option_strings]
            for group in groups:  # one of these flags is required
                if group.required:
                    required.append("(" + " | ".join(shown(a) for a in group._group_actions) + ")")
            usage = " ".join(["%(prog)s", *required, "[options]"])
        super().add_usage(usage, actions, groups, prefix)


def command_parser(description: str, examples: list[str]) -> argparse.ArgumentParser:
    """A command's parser: its description, then the flags by group, then examples."""
    epilog = "examples:\n" + "\n".join(f"  {line}" for line in examples)
    return argparse.ArgumentParser(
        prog=_prog(), description=description, epilog=epilog, formatter_class=HelpFormatter
    )


def _prog() -> str | None:
    """``scripts/train.sh`` when run from the repository (python -m scripts.train), else None
    (argparse's own: the console command's name, zh-textclf-train)."""
    name = Path(sys.argv[0]).name
    shell = Path(__file__).with_name(name.removesuffix(".py") + ".sh")
    return f"scripts/{shell.name}" if name.endswith(".py") and shell.is_file() else None


def add_bool(parser: argparse.ArgumentParser, name: str, default: bool, help: str) -> None:
    """``--flag``, ``--flag=true`` and ``--flag=false`` all work, as with absl flags."""
    parser.add_argument(
        f"--{name}",
        type=str2bool,
        nargs="?",
        const=True,
        default=default,
        metavar="true|false",
        help=help,
    )


def env_default(name: str) -> str | None:
    value = os.environ.get(name)
    return value or None


VERBOSITIES = ("warning", "info", "debug")


def add_verbosity(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--verbosity (default $ZH_TEXTCLF_LOG, else info) and --verbose (= --verbosity=debug:
    also TensorFlow's start-up lines, scripts/quiet.py)."""
    from .quiet import LOG_ENV

    default = os.environ.get(LOG_ENV, "").lower()
    parser.add_argument(
        "--verbosity",
        choices=VERBOSITIES,
        default=default if default in VERBOSITIES else "info",
        help="warning: only problems; info: one line per stage; debug: everything, "
        f"TensorFlow's start-up lines included (also ${LOG_ENV})",
    )
    add_bool(parser, "verbose", False, "the same as --verbosity=debug")


def verbosity(args: argparse.Namespace) -> str:
    return "debug" if getattr(args, "verbose", False) else getattr(args, "verbosity", "info")


def setup_logging(verbose: bool | str = False) -> None:
    """``verbose``: True (debug), False (info) or one of VERBOSITIES."""
    level = verbose if isinstance(verbose, str) else ("debug" if verbose else "info")
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    for noisy in ("absl", "tensorflow", "h5py", "matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def add_long_text_arguments(parser: argparse.ArgumentParser, when: str) -> None:
    """--long_text, --head_tokens, --doc_stride, --window_pooling (classifier.text.long_text).

    ``when`` says what the flags do in this command (help text)."""
    from classifier.text.long_text import MODES, POOLINGS

    g = parser.add_argument_group("texts longer than max_seq_length", when)
    g.add_argument(
        "--long_text",
        choices=MODES,
        default=None,
        help="truncate (keep the head), head_tail (head + tail, Sun et al. 2019) or "
        "sliding_window (windows pooled into one prediction); single-text tasks",
    )
    g.add_argument(
        "--head_tokens",
        type=positive_int,
        default=None,
        help="head_tail: tokens kept from the start (default: 128/510 of the budget)",
    )
    g.add_argument(
        "--doc_stride",
        type=positive_int,
        default=None,
        help="sliding_window: tokens between window starts (default: half a window)",
    )
    g.add_argument(
        "--window_pooling",
        choices=POOLINGS,
        default=None,
        help="sliding_window: pool the windows' logits by mean or max (default mean)",
    )


def long_text_overrides(args: argparse.Namespace) -> dict:
    """The long-text flags given on the command line, as ClassifierSpec field values."""
    given = {
        "long_text": args.long_text,
        "head_tokens": args.head_tokens,
        "doc_stride": args.doc_stride,
        "window_pooling": args.window_pooling,
    }
    return {name: value for name, value in given.items() if value is not None}


def add_runtime_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """--runtime, --precision and --dtype: what runs an ONNX export (predict.sh, serve.sh)."""
    from serving.runtime_choice import SERVE_DTYPES
    from serving.runtimes import ONNX_RUNTIMES, OPENVINO_PRECISIONS

    parser.add_argument(
        "--dtype",
        choices=SERVE_DTYPES,
        default=None,
        help="what an ONNX export computes in: float32 (ONNX Runtime), bfloat16 (OpenVINO; "
        "fast where the CPU has AMX) or auto (the fastest this CPU and the installed runtimes "
        "offer: OpenVINO bfloat16 on an AMX CPU, else ONNX Runtime float32); default: auto for "
        "an export.sh --dtype=auto export, else float32; a SavedModel computes in the dtype it "
        "was exported with",
    )
    parser.add_argument(
        "--runtime",
        choices=ONNX_RUNTIMES,
        default=None,
        help="what runs an ONNX export: onnxruntime (the default) or openvino (OpenVINO compiles "
        "the same model.onnx; pip install 'zh-textclf[openvino]'); a SavedModel runs on TensorFlow",
    )
    parser.add_argument(
        "--precision",
        choices=OPENVINO_PRECISIONS,
        default=None,
        help="--runtime=openvino's own precision setting, instead of --dtype: f32 (the default: "
        "ONNX Runtime's probabilities), bf16 (bfloat16 matmuls where the CPU has AVX512-BF16 or "
        "AMX: faster, probabilities within ~1e-2) or auto (OpenVINO's choice: bf16 on AMX CPUs)",
    )


def add_processor_arguments(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    tasks: str,
    header: str,
    task_default: str | None = "tsv",
    header_default: str | None = "auto",
) -> None:
    """--task_name, --processor_file and --header: which DataProcessor reads a TSV file
    (``tasks`` and ``header`` finish their help lines; a None default is the caller's to
    fill in, and its help says which)."""
    parser.add_argument("--task_name", default=task_default, help=f"registered processor: {tasks}")
    parser.add_argument("--processor_file", help="a .py file (or module) registering a processor")
    parser.add_argument(
        "--header", choices=("auto", "yes", "no"), default=header_default, help=f"whether {header}"
    )


def quiet_serving_logs(args: argparse.Namespace) -> None:
    """Below --verbosity=debug, the model loaders' INFO lines stay out of a command's output."""
    if verbosity(args) != "debug":
        import serving  # its loggers are "zh_textclf.serving.*" when installed from a wheel

        logging.getLogger(serving.__name__).setLevel(logging.WARNING)
