"""The processor registry: task names to processor classes, filled by a decorator.

A user adds a task by writing one file with ``@register_processor("my_task")`` and passing it as
``--processor_file``; nobody edits a dict in main(). Names are case-insensitive (stored lower-case,
as google-research/bert lower-cased --task_name).
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TypeVar

from processors.data_processor import DataProcessor

P = TypeVar("P", bound=type[DataProcessor])

_REGISTRY: dict[str, type[DataProcessor]] = {}
_LOADED_PLUGIN_FILES: dict[str, ModuleType] = {}


def _key(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a processor name is a non-empty string, not {name!r}")
    return name.strip().lower()


def register_processor(name: str) -> Callable[[P], P]:
    """Class decorator: make ``cls`` available as ``get_processor(name)``.

    A name already taken is an error (naming the class that holds it) rather than a silent
    replacement, so two plugins cannot quietly fight over a task name.
    """
    key = _key(name)

    def decorator(cls: P) -> P:
        if not (isinstance(cls, type) and issubclass(cls, DataProcessor)):
            raise TypeError(f"@register_processor({name!r}) needs a DataProcessor subclass")
        existing = _REGISTRY.get(key)
        if existing is not None:
            raise ValueError(
                f"processor name {key!r} is already registered by "
                f"{existing.__module__}.{existing.__qualname__}"
            )
        _REGISTRY[key] = cls
        return cls

    return decorator


def get_processor(name: str) -> type[DataProcessor]:
    """The processor class registered as ``name``; an unknown name lists the known ones."""
    key = _key(name)
    if key not in _REGISTRY:
        known = ", ".join(list_processors()) or "(none)"
        raise ValueError(
            f"unknown processor {name!r}; known processors: {known} "
            "(load your own with --processor_file)"
        )
    return _REGISTRY[key]


def list_processors() -> list[str]:
    """The registered names, sorted."""
    return sorted(_REGISTRY)


def load_processor_plugin(spec: str | os.PathLike[str]) -> ModuleType:
    """Import a user's processor module so that its @register_processor decorators run.

    ``spec`` is a path to a .py file (anything ending in .py, holding a path separator, or naming
    an existing file) or a dotted module name on sys.path. Loading the same file twice returns
    the module loaded first. If the module fails to import, the names it registered before the
    failure are removed again, so that a corrected retry does not hit "already registered".
    """
    text = os.fspath(spec)
    is_file = text.endswith(".py") or "/" in text or os.sep in text or Path(text).is_file()
    before = set(_REGISTRY)
    try:
        return _load_file(Path(text)) if is_file else _load_module(text)
    except BaseException:
        for name in set(_REGISTRY) - before:
            del _REGISTRY[name]
        raise


def _load_file(path: Path) -> ModuleType:
    path = path.expanduser().resolve()
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "processor plugin file not found", str(path))
    key = str(path)
    if key in _LOADED_PLUGIN_FILES:
        return _LOADED_PLUGIN_FILES[key]
    # A unique, valid module name per file, so two plugins called my_task.py do not collide.
    stem = re.sub(r"\W", "_", path.stem)
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:10]
    module_name = f"_processor_plugin_{stem}_{digest}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up here
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    _LOADED_PLUGIN_FILES[key] = module
    return module


def _load_module(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name is not None and (name == error.name or name.startswith(error.name + ".")):
            raise ModuleNotFoundError(
                f"cannot import processor plugin {name!r}: {error}; "
                "pass a path ending in .py to load a file",
                name=error.name,
            ) from error
        raise
