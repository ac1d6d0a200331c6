"""The class decorator every registry of ours uses (heads, backbone families, adapter kinds):
``name`` selects the class, the class learns its name, and a name is taken once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def registrar(table: dict[str, Any], what: str, attribute: str) -> Callable[[str], Callable]:
    """``registrar(HEADS, "head kind", "kind")("multiclass")`` is the decorator that puts a class
    in ``table`` under "multiclass" and sets its ``attribute`` to that name."""

    def register_as(name: str) -> Callable[[T], T]:
        def register(cls: T) -> T:
            if name in table:
                raise ValueError(
                    f"{what} {name!r} is already registered; a name cannot be registered twice"
                )
            setattr(cls, attribute, name)
            table[name] = cls
            return cls

        return register

    return register_as
