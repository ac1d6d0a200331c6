"""A command started as a file (``python scripts/train.py``) re-runs itself as the module it is
(``python -m scripts.train``, the repository on PYTHONPATH as scripts/*.sh sets it): its
package-relative imports need the package, and scripts/ first on the import path would let
scripts/export.py hide the ``export`` package. Imported only then, as a top-level module, by
the two lines at the top of each command."""

import os
import sys

_file = os.path.abspath(sys.argv[0])
_root = os.path.dirname(os.path.dirname(_file))
_module = "scripts." + os.path.basename(_file).removesuffix(".py")
_path = os.pathsep.join(p for p in (_root, os.environ.get("PYTHONPATH")) if p)
os.execve(
    sys.executable,
    [sys.executable, "-m", _module, *sys.argv[1:]],
    {**os.environ, "PYTHONPATH": _path},
)
