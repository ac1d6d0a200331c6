"""Adapter configurations: one frozen dataclass per kind, registered by name, saved as JSON.

Plain Python (no TensorFlow), so flags, --help and saved configs read them cheaply; the Keras
module that builds a kind's layers lives in classifier.adapters and registers itself for the
kind (``register_adapter_module``), which ``AdapterConfig.build`` looks up.

A configuration holds only JSON-friendly values, so it travels in classifier_config.json (the
spec's ``adapter`` field) and in a saved adapter's adapter_config.json, and rebuilds exactly the
same adapter structure on any backbone of the same shape.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from classifier.registry import registrar

_KINDS: dict[str, type[AdapterConfig]] = {}
_MODULES: dict[str, Callable[..., Any]] = {}

C = TypeVar("C", bound="type[AdapterConfig]")
M = TypeVar("M")


class AdapterConfigError(ValueError):
    """An adapter configuration that cannot be built."""


@dataclass(frozen=True)
class AdapterConfig:
    """Base of every adapter kind's configuration; ``kind`` is set by the registry."""

    kind: ClassVar[str] = ""
    # Whether train.sh writes the small swappable artifact (adapter + head) beside the run.
    saves_artifact: ClassVar[bool] = True
    # Whether the backbone stays frozen (so an adapter's learning rate default applies).
    freezes_backbone: ClassVar[bool] = True

    def build(self, sites: Any) -> Any:
        """The kind's AdapterModule for a backbone's BackboneSites, built and ready to attach."""
        self.check(sites)
        return adapter_module_class(self.kind)(self, sites)

    def check(self, sites: Any) -> None:
        """Refuses a backbone this config cannot adapt, before any layer is made."""
        check_layers(getattr(self, "layers", None), sites.num_layers)

    def to_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            data[f.name] = list(value) if isinstance(value, tuple) else value
        return data

    @classmethod
    def from_fields(cls, data: dict[str, Any]) -> AdapterConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise AdapterConfigError(
                f"{cls.kind} adapters have no option(s) {unknown}; known: {sorted(names)}"
            )
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)

    def replace(self, **changes: Any) -> AdapterConfig:
        return dataclasses.replace(self, **changes)


def register_adapter_kind(name: str) -> Callable[[C], C]:
    """Class decorator: makes a config class the kind ``name`` (a duplicate name is an error)."""
    return _register(name)


_register = registrar(_KINDS, "adapter kind", "kind")


def register_adapter_module(*kinds: str) -> Callable[[M], M]:
    """Class decorator: the Keras AdapterModule (classifier.adapters) that builds ``kinds``."""

    def register(cls: M) -> M:
        for kind in kinds:
            if kind in _MODULES:
                raise ValueError(f"adapter kind {kind!r} already has a module")
            _MODULES[kind] = cls
        return cls

    return register


def adapter_module_class(kind: str) -> Callable[..., Any]:
    try:
        return _MODULES[kind]
    except KeyError:
        raise AdapterConfigError(
            f"adapter kind {kind!r} has no module: import the package that registers it "
            "(classifier.adapters registers the built-in kinds)"
        ) from None


def adapter_kinds() -> tuple[str, ...]:
    """The registered kinds, sorted by name."""
    return tuple(sorted(_KINDS))


def get_adapter_kind(name: str) -> type[AdapterConfig]:
    try:
        return _KINDS[name]
    except KeyError:
        raise AdapterConfigError(
            f"unknown adapter kind {name!r}; known: {', '.join(_KINDS)}"
        ) from None


def adapter_config_from_dict(data: dict[str, Any] | AdapterConfig) -> AdapterConfig:
    """The config for ``{"kind": ..., **options}`` (as to_dict writes it); configs pass through."""
    if isinstance(data, AdapterConfig):
        return data
    if not isinstance(data, dict) or "kind" not in data:
        raise AdapterConfigError(f"an adapter config needs a 'kind', got {data!r}")
    fields = dict(data)
    return get_adapter_kind(fields.pop("kind")).from_fields(fields)


def make_adapter_config(kind: str, **options: Any) -> AdapterConfig:
    """``make_adapter_config("lora", rank=4)``: the kind's config, unset options at defaults."""
    return get_adapter_kind(kind).from_fields(options)


def check_layers(layers: tuple[int, ...] | None, num_layers: int, what: str = "layers") -> None:
    if layers is None:
        return
    if not layers:
        raise AdapterConfigError(f"adapter {what} must not be empty")
    bad = [i for i in layers if not 0 <= i < num_layers]
    if bad:
        raise AdapterConfigError(
            f"adapter {what} {bad} out of range: the backbone has layers 0..{num_layers - 1}"
        )
    if len(set(layers)) != len(layers):
        raise AdapterConfigError(f"adapter {what} {list(layers)} repeat a layer")
