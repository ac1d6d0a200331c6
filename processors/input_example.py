"""The one record every processor produces and the rest of the framework consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputExample:
    """One text (or text pair) with its label(s), as read from a data file.

    Frozen so that an example read once cannot drift between the trainer, the metrics and the
    prediction writer.

    - ``label``: the label of a single-label task; ``None`` when the file has no labels.
    - ``labels``: the labels of a multilabel task; ``()`` means "none of the labels applies",
      ``None`` means the file has no labels (e.g. an unlabelled test file).
    """

    guid: str
    text_a: str
    text_b: str | None = None
    label: str | None = None
    labels: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.labels is not None and not isinstance(self.labels, tuple):
            # Accept a list from user code but keep the dataclass hashable and immutable.
            object.__setattr__(self, "labels", tuple(self.labels))
        if self.label is not None and self.labels is not None:
            raise ValueError(
                "an InputExample has either label (single-label task) or labels "
                f"(multilabel task), not both: {self.guid}"
            )
