"""Registry of checkpoint naming schemes, and detection of a checkpoint's scheme from its names."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from classifier.checkpoints.weight_mapping import MappedWeight
from classifier.config import ModelConfig


@dataclass(frozen=True)
class CheckpointScheme:
    """How one family of checkpoint files names the backbone's tensors.

    ``signature`` lists names that only this scheme uses; a checkpoint containing all of them is
    taken to be in this scheme. ``mapping`` lists, for a built backbone, every variable with
    the checkpoint name that feeds it. ``adapt_config`` completes the model config with what
    only the naming tells (brightmart's embedding layout) and rejects configs the scheme cannot
    hold (a pre-LN config with Google ALBERT names); it raises ConfigError.
    """

    name: str
    family: str  # "bert" | "albert"
    file_format: str  # "tf1" | "hf"
    description: str
    signature: tuple[str, ...]
    mapping: Callable[..., list[MappedWeight]]
    adapt_config: Callable[[ModelConfig], ModelConfig] | None = None

    def config_for(self, config: ModelConfig) -> ModelConfig:
        return self.adapt_config(config) if self.adapt_config else config

    def matches(self, names: set[str]) -> bool:
        return all(name in names for name in self.signature)


_SCHEMES: dict[str, CheckpointScheme] = {}


def register_scheme(scheme: CheckpointScheme) -> CheckpointScheme:
    if scheme.name in _SCHEMES:
        raise ValueError(f"checkpoint scheme {scheme.name!r} is already registered")
    _SCHEMES[scheme.name] = scheme
    return scheme


def get_scheme(name: str) -> CheckpointScheme:
    try:
        return _SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown checkpoint scheme {name!r}; known: {sorted(_SCHEMES)}") from None


def list_schemes() -> list[CheckpointScheme]:
    return sorted(_SCHEMES.values(), key=lambda s: s.name)


class UnknownSchemeError(ValueError):
    """A checkpoint whose variable names fit none of the known schemes."""


def detect_scheme(names: Iterable[str], file_format: str, source: str) -> CheckpointScheme:
    """Picks the scheme whose signature names all occur in the checkpoint.

    Several schemes may match when one signature is a subset of another's; the one with the
    longest signature (the most specific) wins.
    """
    names = set(names)
    known = sorted(_SCHEMES.values(), key=lambda s: s.name)  # not the registration order
    candidates = [s for s in known if s.file_format == file_format and s.matches(names)]
    if candidates:
        return max(candidates, key=lambda s: len(s.signature))
    expected = "\n".join(
        f"  {s.name} ({s.description}): {', '.join(s.signature)}"
        for s in known
        if s.file_format == file_format
    )
    sample = ", ".join(sorted(names)[:12])
    raise UnknownSchemeError(
        f"{source}: the variable names fit no known {file_format} checkpoint scheme.\n"
        f"Expected one of:\n{expected}\nFound names such as: {sample}"
    )
