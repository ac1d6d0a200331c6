"""Texts in, token and word attributions out: everything of an explanation but the gradients.

``TextExplainer`` builds the model rows of a text exactly as classifier.text.row_encoder does
(the same tokenizer, packing and long-text policy; the tests hold the ids equal), remembering
which token of the text each position holds; hands the rows, their targets and their
baselines to an ``attribute`` function (integrated gradients on a Keras model in memory, or
an export's ``explain_ids`` signature); then maps the position scores back onto the text:
sliding windows are combined the way their logits are pooled (mean: each window's share;
max: the window that gives the document its logit), and the tokens inside each jieba word
are summed, since Chinese readers read words, not characters.

No TensorFlow here, so that serving uses it without the training code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from classifier.text.chars import to_unicode
from classifier.text.long_text import LongTextPolicy
from classifier.text.packer import pack
from classifier.text.token_spans import TokenSpan, token_spans
from classifier.text.tokenizer import FullTokenizer

BASELINES = ("pad", "mask")
DEFAULT_IG_STEPS = 50
DEFAULT_BASELINE = "pad"
ROUNDING = 6  # decimals of the scores in JSON, as prediction files round probabilities
# Tokens differentiated in one forward/backward pass (classifier.explain.integrated_gradients
# packs that many interpolation points per pass): a short review's 50 steps go in one pass, and
# BERT-base's activations stay within a few hundred MB. The rows of one call are capped to it
# too, so a long document's windows are explained a few at a time.
TOKENS_PER_PASS = 4096

# (input_ids, input_mask, segment_ids, targets, baseline_ids, steps) -> {"attributions" [B, L],
# "logit" [B], "baseline_logit" [B]} as numpy arrays.
AttributeRows = Callable[..., Mapping[str, np.ndarray]]

_SPECIAL = -1  # the position of [CLS] / [SEP] in a row's map back to the text's tokens


@dataclass(frozen=True)
class TokenScore:
    token: str
    score: float
    start: int
    end: int
    segment: int = 0  # 1: a token of text_b

    def to_dict(self, pair: bool = False) -> dict[str, Any]:
        result = {
            "token": self.token,
            "score": round(self.score, ROUNDING),
            "start": self.start,
            "end": self.end,
        }
        if pair:
            result["segment"] = self.segment
        return result


@dataclass(frozen=True)
class WordScore:
    word: str
    score: float
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "word": self.word,
            "score": round(self.score, ROUNDING),
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True)
class Attribution:
    """One label's explanation of one text. ``logit - baseline_logit`` is what the scores
    share out (completeness: their sum is close to it); tokens the model never saw (cut by
    truncation) score 0."""

    label: str
    tokens: tuple[TokenScore, ...]
    words: tuple[WordScore, ...]
    logit: float
    baseline_logit: float
    words_b: tuple[WordScore, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        pair = self.words_b is not None
        result: dict[str, Any] = {
            "label": self.label,
            "words": [w.to_dict() for w in self.words],
            "tokens": [t.to_dict(pair) for t in self.tokens],
        }
        if pair:
            result["words_b"] = [w.to_dict() for w in self.words_b or ()]
        result["logit"] = round(self.logit, ROUNDING)
        result["baseline_logit"] = round(self.baseline_logit, ROUNDING)
        return result


@dataclass
class _Rows:
    """One text's model rows and, per position, the index of the text token it holds."""

    token_ids: list[list[int]]
    segment_ids: list[list[int]]
    positions: list[list[int]]
    spans: list[TokenSpan]
    spans_b: list[TokenSpan] = field(default_factory=list)


class TextExplainer:
    """Explains texts with an ``attribute`` function over a model's rows (see the module doc).

    ``labels``: the model's label names in logit order; ``pooling``: how the model pools
    sliding windows ("mean" or "max"; the long-text policy's).
    """

    def __init__(
        self,
        tokenizer: FullTokenizer,
        max_seq_length: int,
        long_text: LongTextPolicy,
        labels: Sequence[str],
        attribute: AttributeRows,
        batch_rows: int = 16,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_seq_length = int(max_seq_length)
        self.long_text = long_text
        self.labels = list(labels)
        self.attribute = attribute
        self.batch_rows = max(1, int(batch_rows))
        self._segmenter = None

    def label_index(self, label: str) -> int:
        try:
            return self.labels.index(label)
        except ValueError:
            raise ValueError(
                f"unknown label {label!r} to explain; the model's labels: {', '.join(self.labels)}"
            ) from None

    def explain(
        self,
        text: str | bytes,
        labels: Sequence[str],
        text_b: str | bytes | None = None,
        steps: int = DEFAULT_IG_STEPS,
        baseline: str = DEFAULT_BASELINE,
    ) -> list[Attribution]:
        """One Attribution per label of ``labels`` (in that order) for one text."""
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {', '.join(BASELINES)}, got {baseline!r}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"ig_steps must be an integer >= 1, got {steps!r}")
        text = to_unicode(text)
        text_b = None if text_b is None else to_unicode(text_b)
        targets = [self.label_index(label) for label in labels]
        rows = self._rows(text, text_b)
        scores, logits, baseline_logits = self._attribute(rows, targets, steps, baseline)
        return [
            self._attribution(
                self.labels[target], rows, scores[i], logits[i], baseline_logits[i], text, text_b
            )
            for i, target in enumerate(targets)
        ]

    # === Rows ===
    def _rows(self, text: str, text_b: str | None) -> _Rows:
        spans = token_spans(self.tokenizer, text)
        spans_b = token_spans(self.tokenizer, text_b) if text_b is not None else []
        ids = self.tokenizer.convert_tokens_to_ids(s.token for s in spans)
        ids_b = self.tokenizer.convert_tokens_to_ids(s.token for s in spans_b)
        cls_id, sep_id = self.tokenizer.cls_id, self.tokenizer.sep_id
        every = ids + ids_b
        index_a = list(range(len(ids)))
        if text_b is not None or self.long_text.mode == "truncate":
            index_b = list(range(len(ids), len(every))) if text_b is not None else None
            selections = [(index_a, index_b)]
        else:
            parts = self.long_text.select(index_a, self.max_seq_length - 2)
            selections = [(part, None) for part in parts]
        rows = _Rows([], [], [], spans, spans_b)
        for part_a, part_b in selections:
            positions, segments = pack(part_a, part_b, self.max_seq_length, _SPECIAL, _SPECIAL)
            rows.positions.append(positions)
            rows.segment_ids.append(segments)
            rows.token_ids.append(
                [
                    cls_id if i == 0 else sep_id if p == _SPECIAL else every[p]
                    for i, p in enumerate(positions)
                ]
            )
        return rows

    def _attribute(
        self, rows: _Rows, targets: list[int], steps: int, baseline: str
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per target: the text tokens' scores [T, n], the document logit and baseline logit."""
        windows = len(rows.token_ids)
        count = len(rows.spans) + len(rows.spans_b)
        blank = self.tokenizer.pad_id if baseline == "pad" else self.tokenizer.mask_id
        if blank is None:
            raise ValueError("the vocab has no [MASK] token: use the pad baseline")
        length = max(len(r) for r in rows.token_ids)
        ids = np.zeros((windows, length), np.int32)
        segments = np.zeros_like(ids)
        mask = np.zeros_like(ids)
        base = np.zeros_like(ids)
        for w, row in enumerate(rows.token_ids):
            ids[w, : len(row)] = row
            segments[w, : len(row)] = rows.segment_ids[w]
            mask[w, : len(row)] = 1
            special = np.asarray(rows.positions[w]) == _SPECIAL
            base[w, : len(row)] = np.where(special, row, blank)
        # Every (target, window) pair is one row of the attribute function's batches.
        pairs = [(t, w) for t in range(len(targets)) for w in range(windows)]
        attributions = np.zeros((len(pairs), length), np.float32)
        logit = np.zeros(len(pairs), np.float32)
        baseline_logit = np.zeros(len(pairs), np.float32)
        per_call = max(1, min(self.batch_rows, TOKENS_PER_PASS // length))
        for start in range(0, len(pairs), per_call):
            chunk = pairs[start : start + per_call]
            w_index = [w for _, w in chunk]
            out = self.attribute(
                ids[w_index],
                mask[w_index],
                segments[w_index],
                np.asarray([targets[t] for t, _ in chunk], np.int32),
                base[w_index],
                steps,
            )
            attributions[start : start + len(chunk)] = np.asarray(out["attributions"])
            logit[start : start + len(chunk)] = np.asarray(out["logit"])
            baseline_logit[start : start + len(chunk)] = np.asarray(out["baseline_logit"])
        scores = np.zeros((len(targets), count), np.float64)
        doc_logit = np.zeros(len(targets), np.float64)
        doc_baseline = np.zeros(len(targets), np.float64)
        for t in range(len(targets)):
            block = slice(t * windows, (t + 1) * windows)
            weights = self._window_weights(logit[block])
            doc_logit[t] = float(np.dot(weights, logit[block]))
            doc_baseline[t] = float(np.dot(weights, baseline_logit[block]))
            for w in range(windows):
                if weights[w] == 0:
                    continue
                for position, token in enumerate(rows.positions[w]):
                    if token != _SPECIAL:
                        scores[t, token] += weights[w] * attributions[t * windows + w, position]
        return scores, doc_logit, doc_baseline

    def _window_weights(self, logits: np.ndarray) -> np.ndarray:
        """How much each window's logit counts in the document's (the pooling's derivative)."""
        weights = np.zeros(len(logits), np.float64)
        if self.long_text.windowed and self.long_text.pooling == "max":
            weights[int(np.argmax(logits))] = 1.0
        else:
            weights[:] = 1.0 / len(logits)
        return weights

    # === Back onto the text ===
    def _attribution(
        self,
        label: str,
        rows: _Rows,
        scores: np.ndarray,
        logit: float,
        baseline_logit: float,
        text: str,
        text_b: str | None,
    ) -> Attribution:
        tokens = [
            TokenScore(s.token, float(scores[i]), s.start, s.end, 0)
            for i, s in enumerate(rows.spans)
        ]
        offset = len(rows.spans)
        tokens += [
            TokenScore(s.token, float(scores[offset + i]), s.start, s.end, 1)
            for i, s in enumerate(rows.spans_b)
        ]
        words = self._words(text, [t for t in tokens if t.segment == 0])
        words_b = (
            None if text_b is None else self._words(text_b, [t for t in tokens if t.segment == 1])
        )
        return Attribution(
            label, tuple(tokens), words, float(logit), float(baseline_logit), words_b
        )

    def _words(self, text: str, tokens: list[TokenScore]) -> tuple[WordScore, ...]:
        """jieba's words of ``text`` with the summed scores of the tokens that start in them;
        whitespace is no word."""
        if self._segmenter is None:
            from classifier.pretraining.words import JiebaSegmenter

            self._segmenter = JiebaSegmenter()
        starts = np.asarray([t.start for t in tokens], np.int64)
        values = np.asarray([t.score for t in tokens], np.float64)
        words = []
        for word, start, end in self._segmenter.spans(text):
            if not word.strip():
                continue
            inside = (starts >= start) & (starts < end)
            words.append(WordScore(word, float(values[inside].sum()), start, end))
        return tuple(words)
