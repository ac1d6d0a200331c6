"""Package layout (everything else is in pyproject.toml): one source tree, two installed layouts.

A wheel or sdist install (``pip install .``, ``pip wheel .``) puts ONE top-level package into
site-packages, ``zh_textclf``: ``zh_textclf.classifier``, ``zh_textclf.processors``,
``zh_textclf.export``, ``zh_textclf.serving``, ``zh_textclf.curation`` and ``zh_textclf.cli``
(the command-line modules of scripts/), so that no generic name (``classifier``, ``export``,
...) can clash with another distribution's. The repository keeps its top-level folders and
absolute imports (``from classifier.config import ModelConfig``); ``NamespacedBuildPy`` copies
the sources into the build folder as usual, then rewrites the copies there (``rewrite_source``): import
statements that name a package of the project, and string literals that are exactly a dotted
module path of the project (the ``importlib.import_module`` tables of the packages'
``__init__.py``, ``checkpoint_scheme_modules``). Nothing else changes: words in strings, logger
names and Keras package names (``register_keras_serializable(package="classifier")`` is part
of saved models) stay as they are, and so do line numbers, so tracebacks match the repository.

An editable install (``pip install -e .``, what scripts/setup_env.sh does) keeps the
repository's names, since a developer runs the checkout itself: ``classifier``, ``processors``,
``export``, ``serving`` and ``curation`` at top level, and only the command-line modules under
their installed name, ``zh_textclf.cli`` (a namespace mapped to scripts/), so the console
commands of [project.scripts] are the same in both layouts. setuptools' PEP 660 backend (and its
``develop``, which calls ``pip install -e``) builds it with the ``editable_wheel`` command,
which is how the editable layout is recognised below.

tests/test_packaging.py builds the wheel and checks the rewritten, installed package.
"""

from __future__ import annotations

import ast
import bisect
import io
import sys
import tokenize
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

NAMESPACE = "zh_textclf"
# Repository folder -> package name in a wheel.
INSTALLED_NAMES = {
    "classifier": f"{NAMESPACE}.classifier",
    "processors": f"{NAMESPACE}.processors",
    "export": f"{NAMESPACE}.export",
    "serving": f"{NAMESPACE}.serving",
    "curation": f"{NAMESPACE}.curation",
    "scripts": f"{NAMESPACE}.cli",
}
LIBRARY = ("classifier", "processors", "export", "serving", "curation")
PACKAGE_DATA = {"serving": ["web/*"]}  # served by serving/app.py from Path(__file__).parent


def installed_name(module: str) -> str | None:
    """A project module's name in a wheel (``classifier.text`` -> ``zh_textclf.classifier.text``);
    None for any other module."""
    top, dot, rest = module.partition(".")
    return INSTALLED_NAMES[top] + dot + rest if top in INSTALLED_NAMES else None


def project_modules(root: Path) -> frozenset[str]:
    """Every module and package of the project, by its repository name."""
    names = set()
    for top in INSTALLED_NAMES:
        for path in (root / top).rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            names.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return frozenset(names)


def _import_statements(alias: ast.alias) -> str:
    """One ``import`` clause as statements binding the same name to the installed module."""
    name = installed_name(alias.name)
    if name is None:
        return f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
    if alias.asname:
        return f"import {name} as {alias.asname}"
    top = alias.name.partition(".")[0]
    parent, _, leaf = INSTALLED_NAMES[top].rpartition(".")
    bind = f"from {parent} import {leaf}" + (f" as {top}" if leaf != top else "")
    return f"import {name}; {bind}" if "." in alias.name else bind  # `import a.b` binds `a`


def rewrite_source(source: str, modules: frozenset[str], filename: str = "<source>") -> str:
    """``source`` with the project's absolute imports and module-path strings namespaced.

    Only these change: the first name of ``from classifier... import``; ``import serving...``
    clauses (rewritten to bind the same local name); a string literal, written as one token,
    whose value is a dotted name in ``modules``. Relative imports need nothing. A module path
    that cannot be rewritten exactly (one split over string tokens, an ``import`` continued
    over lines) stops the build rather than leaving a repository name in the wheel."""
    tree = ast.parse(source, filename)
    lines = io.StringIO(source).readlines()  # the lines ast and tokenize count
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    starts = [token.start for token in tokens]
    strings = {(t.start, t.end): t for t in tokens if t.type == tokenize.STRING}
    in_fstrings = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}

    def position(lineno: int, byte_col: int) -> tuple[int, int]:  # ast counts UTF-8 bytes
        return lineno, len(lines[lineno - 1].encode("utf-8")[:byte_col].decode("utf-8"))

    edits: list[tuple[tuple[int, int], tuple[int, int], str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level or not node.module or installed_name(node.module) is None:
                continue
            first = tokens[bisect.bisect_right(starts, position(node.lineno, node.col_offset))]
            top = node.module.partition(".")[0]
            if first.type != tokenize.NAME or first.string != top:
                raise ValueError(f"{filename}:{node.lineno}: cannot find the module name")
            edits.append((first.start, first.end, INSTALLED_NAMES[top]))
        elif isinstance(node, ast.Import):
            if all(installed_name(alias.name) is None for alias in node.names):
                continue
            if node.end_lineno != node.lineno:
                raise ValueError(f"{filename}:{node.lineno}: write this import on one line")
            start = position(node.lineno, node.col_offset)
            end = position(node.end_lineno, node.end_col_offset)
            edits.append((start, end, "; ".join(map(_import_statements, node.names))))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in in_fstrings:
                continue
            renamed = installed_name(node.value)
            if renamed is None or "." not in node.value or node.value not in modules:
                continue  # "classifier" alone is a word (logger, Keras package), not a path
            start = position(node.lineno, node.col_offset)
            token = strings.get((start, position(node.end_lineno, node.end_col_offset)))
            if token is None:
                raise ValueError(f"{filename}:{node.lineno}: write {node.value!r} as one string")
            edits.append((token.start, token.end, token.string.replace(node.value, renamed, 1)))

    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    out = source
    for (row, col), (end_row, end_col), text in sorted(edits, reverse=True):
        out = out[: offsets[row - 1] + col] + text + out[offsets[end_row - 1] + end_col :]
    return out


INIT = '''"""zh-textclf: Chinese text classification on BERT-family checkpoints (TensorFlow 2 / Keras 3).

The installed layout of the repository's packages: zh_textclf.classifier (models, training,
FineTuner), zh_textclf.processors (data sets), zh_textclf.export (the SavedModel),
zh_textclf.serving (Predictor, REPL, HTTP server), zh_textclf.curation (data tools),
zh_textclf.cli (the zh-textclf-* commands).
Generated by setup.py at build time.
"""

__version__ = {version!r}
'''


class NamespacedBuildPy(build_py):
    """build_py for a wheel: each module copied into the build folder is rewritten to the
    ``zh_textclf`` names (before any byte-compiling), and ``zh_textclf/__init__.py``, which has
    no folder in the repository, is written."""

    def run(self) -> None:
        self._modules = project_modules(Path(__file__).resolve().parent)
        init = self._init_file()
        init.parent.mkdir(parents=True, exist_ok=True)
        init.write_text(INIT.format(version=self.distribution.get_version()), encoding="utf-8")
        super().run()

    def build_module(self, module: str, module_file: str, package: str) -> tuple[str, bool]:
        outfile, copied = super().build_module(module, module_file, package)
        built = Path(outfile)
        source = built.read_text(encoding="utf-8")
        rewritten = rewrite_source(source, self._modules, module_file)
        if rewritten != source:  # idempotent: a copy already rewritten stays as it is
            built.write_text(rewritten, encoding="utf-8")
        return outfile, copied

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return [*super().get_outputs(include_bytecode), str(self._init_file())]

    def _init_file(self) -> Path:
        return Path(self.build_lib, NAMESPACE, "__init__.py")


if __name__ == "__main__":  # how setuptools runs this file; tests import rewrite_source
    EDITABLE = "editable_wheel" in sys.argv
    if EDITABLE:  # the repository's names, and zh_textclf.cli for the console commands
        names = {top: top for top in LIBRARY} | {"scripts": INSTALLED_NAMES["scripts"]}
    else:
        names = INSTALLED_NAMES
    found = find_packages(include=[name for top in INSTALLED_NAMES for name in (top, top + ".*")])
    setup(
        packages=[names[top] + dot + rest for top, dot, rest in (p.partition(".") for p in found)],
        package_dir={names[top]: top for top in INSTALLED_NAMES if names[top] != top},
        package_data={names[top]: files for top, files in PACKAGE_DATA.items()},
        cmdclass={} if EDITABLE else {"build_py": NamespacedBuildPy},
    )
