"""Command line of scripts/serve.sh: the Flask app on waitress over an export_dir.

scripts/serve.sh --export_dir exported/demo [--host 127.0.0.1] [--port 8501]
"""

from __future__ import annotations

if not __package__:  # started as a file: run as ``python -m scripts.<name>`` instead
    import _run_as_module  # noqa: F401  (scripts/ is first on the import path then)

import argparse
import logging
import sys
from pathlib import Path

from classifier.flag_types import non_negative_float, number, positive_float, positive_int

from .cli_flags import (
    add_runtime_arguments,
    add_verbosity,
    command_parser,
    setup_logging,
    verbosity,
)

logger = logging.getLogger("serve")


def build_parser() -> argparse.ArgumentParser:
    p = command_parser(
        "Serve an export (a SavedModel or an ONNX export, told from its files) over HTTP "
        "(Flask on waitress).",
        [
            "scripts/serve.sh --export_dir=exported/my_task                      # http://127.0.0.1:8501/",
            "scripts/serve.sh --export_dir=exported/my_task --host=0.0.0.0 --port=8080",
        ],
    )
    p.add_argument("--export_dir", required=True, help="export.sh --export_dir (versions <int>/)")
    p.add_argument(
        "--version",
        type=positive_int,
        default=None,
        help="pin a version (default: the highest, and newer ones are picked up as they appear)",
    )
    p.add_argument(
        "--model_name",
        default=None,
        help="name in /v1/models/<name>:predict (default: export_dir's folder name)",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0: every interface)")
    p.add_argument(
        "--port", type=number(int, 0, 65535), default=8501, help="port (0: any free port)"
    )
    g = p.add_argument_group("limits (requests over them get a 4xx JSON error)")
    g.add_argument(
        "--max_texts", type=positive_int, default=64, help="texts (or pairs, instances) per request"
    )
    g.add_argument(
        "--max_text_chars", type=positive_int, default=10_000, help="characters per text"
    )
    g.add_argument(
        "--max_body_bytes",
        type=positive_int,
        default=1 << 20,
        help="request body size (an uploaded file included)",
    )
    g.add_argument(
        "--max_file_rows",
        type=positive_int,
        default=10_000,
        help="texts in one file uploaded to /predict_file (the web page's file upload)",
    )
    g.add_argument(
        "--max_explain_texts",
        type=positive_int,
        default=8,
        help='texts per explanation request (/predict with "explain": true, :explain); each '
        "costs ig_steps (default 50) forward and backward passes",
    )
    g = p.add_argument_group("batching and threads")
    g.add_argument(
        "--max_batch_size",
        type=positive_int,
        default=32,
        help="texts of concurrent requests grouped into one model call",
    )
    g.add_argument(
        "--max_batch_wait_ms",
        type=non_negative_float,
        default=5.0,
        help="how long a request waits for others to join its batch",
    )
    g.add_argument("--threads", type=positive_int, default=8, help="waitress worker threads")
    add_runtime_arguments(g)
    g.add_argument(
        "--request_timeout", type=positive_float, default=60.0, help="seconds before a 503"
    )
    g = p.add_argument_group("connections (hostile or broken clients)")
    g.add_argument(
        "--connection_limit",
        type=positive_int,
        default=1000,
        help="open connections served at once; past it a new connection gets an immediate 503",
    )
    g.add_argument(
        "--channel_timeout",
        type=positive_float,
        default=60.0,
        help="seconds an idle keep-alive connection stays open",
    )
    g.add_argument(
        "--header_timeout",
        type=positive_float,
        default=10.0,
        help="seconds a request's headers may take to arrive, from its first byte (then 408)",
    )
    g.add_argument(
        "--body_timeout",
        type=positive_float,
        default=60.0,
        help="seconds a request's body may take to arrive, after its headers (then 408)",
    )
    g = p.add_argument_group("lifecycle")
    g.add_argument(
        "--poll_seconds",
        type=non_negative_float,
        default=5.0,
        help="how often export_dir is checked for a newer version (0: never)",
    )
    g.add_argument(
        "--grace_seconds",
        type=non_negative_float,
        default=10.0,
        help="on SIGTERM/SIGINT, how long requests in flight may take to finish",
    )
    add_verbosity(p)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(verbosity(args))
    from serving.loader import RuntimeMissing
    from serving.validation import Limits
    from serving.versions import is_version_folder, select_version

    export_dir = Path(args.export_dir)
    base = export_dir.resolve()
    model_name = args.model_name or (base.parent.name if is_version_folder(base) else base.name)
    limits = Limits(
        args.max_texts,
        args.max_text_chars,
        args.max_body_bytes,
        args.max_file_rows,
        args.max_explain_texts,
    )
    try:
        found = select_version(export_dir, args.version)  # fails fast, before TensorFlow loads
        pinned = found if args.version is not None else None
        from serving.app import ServerState, create_app
        from serving.batcher import MicroBatcher
        from serving.loader import load_version
        from serving.model_holder import ModelHolder
        from serving.server import ConnectionLimits, serve_forever

        holder = ModelHolder(  # each version in its format's runtime (SavedModel or ONNX)
            export_dir,
            lambda version: load_version(
                version,
                runtime=args.runtime,
                precision=args.precision,
                dtype=args.dtype,
                batch_size=args.max_batch_size,
            ),
            poll_seconds=args.poll_seconds,
            pinned_version=pinned,
        )
    except (OSError, ValueError, RuntimeMissing) as err:  # NoModelError, a broken ONNX export,
        # --runtime=openvino on a SavedModel
        logger.error("%s", err)
        return 2
    batcher = MicroBatcher(holder, args.max_batch_size, args.max_batch_wait_ms)
    state = ServerState(request_timeout=args.request_timeout)
    app = create_app(holder, batcher, limits, model_name, state)

    def listening(host: str, port: int) -> None:
        print(
            f"serving {model_name} version {holder.current.version} on http://{host}:{port}",
            flush=True,
        )

    batcher.start()
    holder.start()
    try:
        serve_forever(
            app,
            args.host,
            args.port,
            threads=args.threads,
            # waitress refuses far larger bodies itself; up to that, Flask answers a JSON 413.
            max_request_body_size=4 * args.max_body_bytes,
            limits=ConnectionLimits(
                args.connection_limit,
                args.channel_timeout,
                args.header_timeout,
                args.body_timeout,
            ),
            grace_seconds=args.grace_seconds,
            on_listening=listening,
            on_draining=state.draining.set,
        )
    except OSError as err:  # the address is taken or not ours
        logger.error("cannot serve on %s:%d: %s", args.host, args.port, err)
        return 2
    finally:
        batcher.stop()
        holder.stop()
    logger.info("shut down gracefully")
    return 0


if __name__ == "__main__":
    sys.exit(main())
