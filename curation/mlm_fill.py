"""Words replaced by a masked language model's guesses (the ``mlm`` augmentation).

Contextual augmentation (Kobayashi 2018; Wu et al. 2019, conditional BERT): every WordPiece of
a chosen jieba word becomes [MASK] (whole-word masking, as Chinese-BERT-wwm and pretrain.sh
mask), and each masked token is replaced by the model's most probable token in one pass. The
guess may not be the token it replaces (an unchanged word would only copy the original), nor
a special token ([CLS], [unused1], ...), nor punctuation. The other words of the text are
kept exactly as written; the guesses come in the vocab's lower case, "##" marks removed.

The model is the user's checkpoint with its MLM head (Google's cls/predictions/*, Hugging Face's
cls.predictions.* or predictions.*, a pretrain.sh output), loaded by the code pretrain.sh
uses; a checkpoint without that head is refused rather than guessed from a random head.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.checkpoints.loader import load_pretrained
from classifier.pretraining.mlm_model import masked_lm_of
from classifier.text.tokenizer import FullTokenizer
from curation.word_edits import is_word

logger = logging.getLogger(__name__)


class NoMaskedLMHead(ValueError):
    """A --model_dir whose checkpoint has no masked-LM head weights."""


class MaskedWordFiller:
    """``fill([(words, positions), ...])``: the words at ``positions`` refilled, in batches of
    ``batch_size`` texts, each text cut to ``max_seq_length`` tokens ([CLS] and [SEP] included);
    ``maskable(words)``: the positions of the words inside that window."""

    def __init__(
        self,
        model_dir: str | Path,
        max_seq_length: int = 128,
        batch_size: int = 32,
        do_lower_case: bool = True,
    ) -> None:
        pretrained = load_pretrained(model_dir)
        self.model, loaded = masked_lm_of(pretrained)
        if not loaded:
            raise NoMaskedLMHead(
                f"--model_dir={model_dir}: {pretrained.files.checkpoint} has no masked-LM head "
                "(cls/predictions/* in Google's checkpoints, cls.predictions.* or predictions.* "
                "in Hugging Face's): mlm needs one, e.g. a BertForMaskedLM or BertForPreTraining "
                "checkpoint, or a pretrain.sh output"
            )
        self.tokenizer = FullTokenizer(pretrained.files.vocab_file, do_lower_case)
        if self.tokenizer.mask_id is None:
            raise NoMaskedLMHead(f"{pretrained.files.vocab_file} has no [MASK] token")
        self.max_tokens = min(max_seq_length, pretrained.config.max_position_embeddings) - 2
        self.batch_size = batch_size
        self.allowed = guess_candidates(self.tokenizer.vocab)
        logger.info("masked LM from %s", pretrained.files.checkpoint)

    def maskable(self, words: Sequence[str]) -> list[int]:
        positions, used = [], 0
        for index, word in enumerate(words):
            pieces = len(self.tokenizer.tokenize(word))
            used += pieces
            if used > self.max_tokens:
                break
            if pieces and is_word(word):
                positions.append(index)
        return positions

    def fill(self, requests: Sequence[tuple[Sequence[str], Sequence[int]]]) -> list[list[str]]:
        """The texts go by length into batches (less padding), and come back in order."""
        order = sorted(range(len(requests)), key=lambda i: sum(map(len, requests[i][0])))
        filled: list[list[str]] = [[] for _ in requests]
        for start in range(0, len(order), self.batch_size):
            batch = order[start : start + self.batch_size]
            words = self._fill_batch([requests[i] for i in batch])
            for index, refilled in zip(batch, words, strict=True):
                filled[index] = refilled
        return filled

    def _fill_batch(self, requests: Sequence[tuple[Sequence[str], Sequence[int]]]):
        encoded = [self._masked_ids(words, positions) for words, positions in requests]
        width = max(len(ids) for ids, _, _ in encoded)
        slots = max(1, max(len(spans) for _, spans, _ in encoded))
        token_ids = np.full((len(encoded), width), self.tokenizer.pad_id, np.int32)
        padding_mask = np.zeros_like(token_ids)
        masked_positions = np.zeros((len(encoded), slots), np.int32)
        for row, (ids, spans, _) in enumerate(encoded):
            token_ids[row, : len(ids)] = ids
            padding_mask[row, : len(ids)] = 1
            masked_positions[row, : len(spans)] = spans
        logits = self.model(
            {
                "token_ids": token_ids,
                "segment_ids": np.zeros_like(token_ids),
                "padding_mask": padding_mask,
                "masked_positions": masked_positions,
            },
            training=False,
        )
        logits = np.where(self.allowed, np.asarray(logits, np.float32), -np.inf)
        out = []
        for row, ((words, positions), (_, spans, originals)) in enumerate(
            zip(requests, encoded, strict=True)
        ):
            scores = logits[row, : len(spans)]
            scores[np.arange(len(spans)), originals] = -np.inf  # a guess must change the token
            guesses = self.tokenizer.convert_ids_to_tokens(scores.argmax(axis=-1).tolist())
            new_words, cursor = list(words), 0
            for position in positions:
                size = len(self.tokenizer.tokenize(words[position]))
                new_words[position] = "".join(
                    token.removeprefix("##") for token in guesses[cursor : cursor + size]
                )
                cursor += size
            out.append(new_words)
        return out

    def _masked_ids(self, words: Sequence[str], positions: Sequence[int]):
        """(ids with the chosen words' tokens masked, their places, the ids they replaced)."""
        chosen = set(positions)
        ids = [self.tokenizer.cls_id]
        spans: list[int] = []
        originals: list[int] = []
        for index, word in enumerate(words):
            pieces = self.tokenizer.encode(word)
            if len(ids) - 1 + len(pieces) > self.max_tokens:
                break
            if index in chosen:
                spans.extend(range(len(ids), len(ids) + len(pieces)))
                originals.extend(pieces)
                pieces = [self.tokenizer.mask_id] * len(pieces)
            ids.extend(pieces)
        return ids + [self.tokenizer.sep_id], spans, originals


def guess_candidates(vocab: Sequence[str]) -> np.ndarray:
    """bool [vocab]: the tokens a guess may be: not special ([PAD], [unused1], <S>, ...) and
    holding a letter or a digit (no punctuation)."""
    return np.array(
        [
            not (token.startswith("[") and token.endswith("]"))
            and not (token.startswith("<") and token.endswith(">"))
            and is_word(token.removeprefix("##"))
            for token in vocab
        ]
    )
