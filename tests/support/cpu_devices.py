"""Runs a command-line entry point with this machine's CPU split into N logical devices.

``python -m tests.support.cpu_devices N MODULE FLAGS...``: lets the MirroredStrategy tests run
two replicas on a CPU-only machine (TensorFlow must be told before it starts its runtime).
"""

from __future__ import annotations

import importlib
import sys


def main(argv: list[str] | None = None) -> int:
    count, module, *flags = sys.argv[1:] if argv is None else argv
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(int(count))]
    )
    return importlib.import_module(module).main(flags)


if __name__ == "__main__":
    sys.exit(main())
