"""Every folder of the library that holds Python modules is a regular package, so that
``pip install .`` (setuptools' find_packages) ships it: a folder without __init__.py is left
out of the wheel and the installed commands fail on import."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ("classifier", "processors", "export", "serving", "curation", "scripts")


def test_every_module_folder_has_an_init():
    missing = [
        str(folder.relative_to(ROOT))
        for top in LIBRARY
        for folder in [ROOT / top, *(ROOT / top).rglob("*")]
        if folder.is_dir()
        and folder.name != "__pycache__"
        and any(folder.glob("*.py"))
        and not (folder / "__init__.py").is_file()
    ]
    assert missing == []
