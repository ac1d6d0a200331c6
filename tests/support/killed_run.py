"""Runs a command-line entry point and SIGKILLs the process at a named moment.

Used by the resume tests: ``python -m tests.support.killed_run MOMENT MODULE FLAGS...``. The
kill is the real thing (no clean-up runs), delivered from inside the process so the moment is
exact rather than a race against a timer. Moments:

- ``batch:N``: right after training batch N (counted over the run) ends, before anything else
- ``dev:N``: in the middle of the dev evaluation that ends epoch N
- ``write:NAME[:K]``: while the file NAME is written for the K-th time (default 1st), its
  temporary file complete but not yet renamed
"""

from __future__ import annotations

import importlib
import os
import signal
import sys


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def kill_after_batch(n: int) -> None:
    from classifier.training import checkpointing

    original = checkpointing.SaveTrainingState.on_train_batch_end

    def on_train_batch_end(self, batch, logs=None):
        original(self, batch, logs)
        if self.batches_done == n:
            die()

    checkpointing.SaveTrainingState.on_train_batch_end = on_train_batch_end


def kill_in_dev_evaluation(epoch: int) -> None:
    from classifier.training import dev_evaluator

    original = dev_evaluator.DevEvaluator._judge

    def judge(self, index, logs):
        if index + 1 == epoch:
            self.evaluate()  # the evaluation runs, then dies before its result is used
            die()
        return original(self, index, logs)

    dev_evaluator.DevEvaluator._judge = judge


def kill_while_writing(name: str, nth: int = 1) -> None:
    original = os.replace
    seen = 0

    def replace(src, dst, *args, **kwargs):
        nonlocal seen
        if os.path.basename(str(dst)) == name:
            seen += 1
            if seen == nth:
                die()  # the temporary file is written, the final name not yet given
        return original(src, dst, *args, **kwargs)

    os.replace = replace


def main() -> None:
    moment, module, *flags = sys.argv[1:]
    kind, _, value = moment.partition(":")
    if kind == "batch":
        kill_after_batch(int(value))
    elif kind == "dev":
        kill_in_dev_evaluation(int(value))
    elif kind == "write":
        name, _, nth = value.partition(":")
        kill_while_writing(name, int(nth or 1))
    else:
        raise SystemExit(f"unknown moment {moment!r}")
    sys.exit(importlib.import_module(module).main(flags))


if __name__ == "__main__":
    main()
