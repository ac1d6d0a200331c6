"""The installed layout (setup.py): a wheel holds one top-level package, ``zh_textclf``, whose
modules import each other by their installed names, so that nothing generic (``classifier``,
``export``, ...) lands in site-packages; the repository keeps its own names. The wheel is built
from a copy of the tree (building writes build/ and *.egg-info next to the sources)."""

from __future__ import annotations

import ast
import importlib.util
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
REPO_NAMES = ("classifier", "processors", "export", "serving", "curation", "scripts")
REPO_NAMES += ("zh_textclf_cli",)
# zh_textclf.<name> -> repository folder
FOLDERS = {"classifier": "classifier", "processors": "processors", "export": "export"}
FOLDERS |= {"serving": "serving", "curation": "curation", "cli": "scripts"}


def _setup_py() -> ModuleType:
    """setup.py as a module (its setup() call runs only as __main__, as setuptools runs it)."""
    spec = importlib.util.spec_from_file_location("zh_textclf_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOURCE = '''"""Docs may say classifier.options, export.sh or `from serving import Predictor`."""
import os, serving.versions
import processors
import classifier.text as text_package
from classifier.config import ModelConfig
from classifier import (
    FineTuner,
)
from scripts.cli_flags import add_verbosity
from .cli_flags import setup_logging
from classifiers import elsewhere
TABLE = {"中文": "classifier.estimator", "versions": 'serving.versions'}
SCHEMES = ("classifier.checkpoints.hf_bert",)
WORDS = ["classifier", "export.sh", "see classifier.options", "classifier.no_such_module"]
LOGGER = logging.getLogger("serving")
KERAS = register_keras_serializable(package="classifier")
FORMATTED = f"classifier.text{os.sep}"
'''

EXPECTED = '''"""Docs may say classifier.options, export.sh or `from serving import Predictor`."""
import os; import zh_textclf.serving.versions; from zh_textclf import serving
from zh_textclf import processors
import zh_textclf.classifier.text as text_package
from zh_textclf.classifier.config import ModelConfig
from zh_textclf.classifier import (
    FineTuner,
)
from zh_textclf.cli.cli_flags import add_verbosity
from .cli_flags import setup_logging
from classifiers import elsewhere
TABLE = {"中文": "zh_textclf.classifier.estimator", "versions": 'zh_textclf.serving.versions'}
SCHEMES = ("zh_textclf.classifier.checkpoints.hf_bert",)
WORDS = ["classifier", "export.sh", "see classifier.options", "classifier.no_such_module"]
LOGGER = logging.getLogger("serving")
KERAS = register_keras_serializable(package="classifier")
FORMATTED = f"classifier.text{os.sep}"
'''


def test_rewrite_changes_imports_and_module_paths_only():
    setup_py = _setup_py()
    modules = setup_py.project_modules(ROOT)
    out = setup_py.rewrite_source(SOURCE, modules)
    assert out == EXPECTED
    assert setup_py.rewrite_source(out, modules) == out  # a rebuild finds nothing to do
    assert setup_py.rewrite_source("import scripts\n", modules) == (
        "from zh_textclf import cli as scripts\n"
    )


@pytest.mark.parametrize(
    "source",
    ['NAME = ("classifier." "estimator")\n', "import os, \\\n    classifier.config\n"],
    ids=["split-string", "continued-import"],
)
def test_rewrite_refuses_what_it_cannot_rewrite_exactly(source):
    setup_py = _setup_py()
    with pytest.raises(ValueError, match="<source>:1"):
        setup_py.rewrite_source(source, setup_py.project_modules(ROOT))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel ``pip wheel .`` builds (offline, with this environment's setuptools)."""
    base = tmp_path_factory.mktemp("wheel")
    # What the build reads (not, say, a checkpoint folder downloaded into the checkout).
    inputs = ["setup.py", "pyproject.toml", "README.md", *FOLDERS.values()]
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *inputs],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode("utf-8")
    source = base / "source"
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # not a file deleted in the working tree
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    command += ["--no-index", "--quiet", "-w", str(base / "dist"), str(source)]
    built = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = (base / "dist").glob("zh_textclf-*.whl")
    return path


@pytest.fixture(scope="module")
def unpacked(wheel, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(folder)
    return folder


def test_wheel_installs_one_package_and_every_module(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if ".dist-info/" not in n} == {"zh_textclf"}
    expected = {"zh_textclf/__init__.py"} | {
        f"zh_textclf/{name}/{path.relative_to(ROOT / folder).as_posix()}"
        for name, folder in FOLDERS.items()
        for path in (ROOT / folder).rglob("*.py")
        if "__pycache__" not in path.parts
    }
    assert {n for n in names if n.endswith(".py")} == expected
    web = {p.name for p in (ROOT / "serving" / "web").iterdir()}
    assert {n.rpartition("/")[2] for n in names if n.startswith("zh_textclf/serving/web/")} == web


def _parsed(unpacked: Path) -> dict[str, tuple[str, ast.Module]]:
    texts = {
        p.relative_to(unpacked).as_posix(): p.read_text(encoding="utf-8")
        for p in (unpacked / "zh_textclf").rglob("*.py")
    }
    return {name: (text, ast.parse(text, name)) for name, text in texts.items()}


def test_no_repository_name_is_left_in_the_wheel(unpacked):
    modules = _setup_py().project_modules(ROOT)
    left = []
    for name, (_, tree) in _parsed(unpacked).items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported = [node.module or ""]
            elif isinstance(node, ast.Constant) and node.value in modules and "." in node.value:
                imported = [node.value]  # an importlib table, a scheme module name
            else:
                continue
            left += [f"{name}:{node.lineno} {m}" for m in imported if m.split(".")[0] in REPO_NAMES]
    assert left == []


def test_the_rewrite_keeps_lines_words_and_keras_names(unpacked):
    parsed = _parsed(unpacked)
    for name, (text, _) in parsed.items():
        installed, _, rest = name.removeprefix("zh_textclf/").partition("/")
        if installed != "__init__.py":  # generated; the others keep their line numbers
            source = (ROOT / FOLDERS[installed] / rest).read_text(encoding="utf-8")
            assert text.count("\n") == source.count("\n"), name
    classifier_init = parsed["zh_textclf/classifier/__init__.py"][0]
    assert '"FineTuner": "zh_textclf.classifier.estimator"' in classifier_init
    bert = parsed["zh_textclf/classifier/backbones/bert_backbone.py"][0]
    assert '"zh_textclf.classifier.checkpoints.hf_bert"' in bert
    losses = parsed["zh_textclf/classifier/losses.py"][0]
    keras_name = 'register_keras_serializable(package="classifier")'  # saved models name it
    source = (ROOT / "classifier" / "losses.py").read_text(encoding="utf-8")
    assert losses.count(keras_name) == source.count(keras_name) >= 3
    presets = parsed["zh_textclf/classifier/presets.py"][0]
    assert "`python -m scripts.make_tiny_checkpoint --family" in presets  # prose stays
    assert (
        'worker_folder(strategy, "classifier")'
        in parsed["zh_textclf/classifier/training/run.py"][0]
    )
    assert 'logging.getLogger("export")' in parsed["zh_textclf/cli/export.py"][0]


def test_wheel_metadata_names_the_installed_package(unpacked):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    scripts = project["scripts"]
    assert all(target.startswith("zh_textclf.cli.") for target in scripts.values())
    (info,) = unpacked.glob("zh_textclf-*.dist-info")
    entry_points = (info / "entry_points.txt").read_text(encoding="utf-8")
    for command, target in scripts.items():
        assert f"{command} = {target}" in entry_points
    init = (unpacked / "zh_textclf" / "__init__.py").read_text(encoding="utf-8")
    assert f"__version__ = {project['version']!r}" in init


# Installed in every subprocess below (a sitecustomize on PYTHONPATH): the repository's names
# cannot be imported, even through an editable install of a checkout in this environment.
GUARD = f"""
import sys


class _RepositoryNames:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {REPO_NAMES!r}:
            raise ModuleNotFoundError(f"{{name}}: not an installed name", name=name)
        return None


sys.meta_path.insert(0, _RepositoryNames())
"""

API = """
import sys
import tempfile
from importlib.metadata import Distribution
from pathlib import Path

import keras
import numpy as np

import zh_textclf
from zh_textclf.classifier import FineTuner, ModelConfig, build_backbone, load_backbone
from zh_textclf.classifier.checkpoints.tiny import tiny_bert_config, write_google_bert_folder
from zh_textclf.classifier.losses import SoftmaxLoss
from zh_textclf.classifier.text import FullTokenizer, build_tiny_chinese_vocab
from zh_textclf.export import export_trained_model
from zh_textclf.processors import get_processor
from zh_textclf.serving import Predictor, latest_version
from zh_textclf.serving.app import WEB_DIR

vocab = build_tiny_chinese_vocab()
config = tiny_bert_config(len(vocab), num_layers=1, hidden_size=32)
assert isinstance(config, ModelConfig)
backbone = build_backbone(config)
ids = np.array([[2, 100, 3]], dtype="int32")
inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": ids > 0}
assert backbone(inputs)["pooled_output"].shape == (1, 32)
folder = write_google_bert_folder(Path(tempfile.mkdtemp()) / "bert", vocab, config)
assert load_backbone(folder).count_params() == backbone.count_params()  # the naming schemes
assert keras.saving.get_registered_name(SoftmaxLoss) == "classifier>SoftmaxLoss"
assert get_processor("tsv").__module__ == "zh_textclf.processors.builtin_processors"
assert (WEB_DIR / "index.html").is_file() and WEB_DIR.parent.name == "serving"
assert callable(FineTuner) and callable(export_trained_model) and callable(Predictor)
assert callable(latest_version) and callable(FullTokenizer)
(info,) = Path(zh_textclf.__file__).parent.parent.glob("zh_textclf-*.dist-info")
for entry_point in Distribution.at(info).entry_points.select(group="console_scripts"):
    assert callable(entry_point.load()), entry_point
leaked = sorted(n for n in sys.modules if n.partition(".")[0] in sys.argv[1:])
assert not leaked, leaked
print("installed", zh_textclf.__version__)
"""


@pytest.mark.slow
def test_installed_package_runs_without_the_repository(unpacked, tmp_path):
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env |= {"PYTHONPATH": os.pathsep.join([str(guard), str(unpacked)])}
    env |= {"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    api = run("-c", API, *REPO_NAMES)
    assert api.returncode == 0, api.stderr[-3000:]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert api.stdout.strip().endswith(f"installed {project['version']}")
    for command in ("train", "make_tiny_checkpoint"):
        shown = run("-m", f"zh_textclf.cli.{command}", "--help")
        assert shown.returncode == 0, shown.stderr[-3000:]
        assert shown.stdout.startswith("usage:"), shown.stdout[:500]
