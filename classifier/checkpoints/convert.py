"""Converting a checkpoint folder between TF1 (Google naming) and Hugging Face safetensors.

The weights go through the backbone, in float32, so each tensor is copied exactly (transposes
included): TF1 -> HF -> TF1 gives back byte-identical tensors. Pretraining heads and optimizer
slots are not carried over; only the backbone is. brightmart's albert_zh layout has no
transformers equivalent (see brightmart_albert), so it is refused with the reason.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

from classifier.backbones import family_of
from classifier.checkpoints.loader import Pretrained, load_pretrained
from classifier.checkpoints.writer import FolderLayout, save_pretrained_folder
from classifier.config import GELU_EXACT, GELU_TANH, ConfigError

logger = logging.getLogger(__name__)

FORMATS = ("hf", "tf1")
TARGETS = {
    ("bert", "tf1"): ("google_bert_tf1", FolderLayout("bert_config.json", "bert_model.ckpt")),
    ("albert", "tf1"): (
        "google_albert_tf1",
        FolderLayout("albert_config.json", "albert_model.ckpt"),
    ),
    ("bert", "hf"): ("hf_bert", FolderLayout("config.json", "model.safetensors")),
    ("albert", "hf"): ("hf_albert", FolderLayout("config.json", "model.safetensors")),
}


@dataclass
class Conversion:
    source: Pretrained
    output_dir: Path
    scheme_name: str
    notes: list[str]


def convert_checkpoint(
    input_dir: str | Path,
    output_dir: str | Path,
    to: str | None = None,
    *,
    allow_pickle: bool = False,
    overwrite: bool = False,
    **find_kwargs,
) -> Conversion:
    """Writes the backbone of the checkpoint in ``input_dir`` to ``output_dir`` in format ``to``.

    ``to`` defaults to the other format ("hf" for a TF1 folder, "tf1" for a Hugging Face one).
    ``find_kwargs`` are load_pretrained's explicit paths (config_file, vocab_file,
    init_checkpoint).
    """
    out = Path(output_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} is not empty; pass --overwrite to write into it")
    find_kwargs.setdefault("model_dir_flag", "--input_dir")
    source = load_pretrained(input_dir, allow_pickle=allow_pickle, **find_kwargs)
    to = to or ("hf" if source.scheme.file_format == "tf1" else "tf1")
    if to not in FORMATS:
        raise ValueError(f"--to must be one of {FORMATS}, got {to!r}")
    config = source.config
    problem = family_of(config).conversion_problem(config)
    if problem:
        raise ConfigError(f"{source.files.checkpoint} is {problem}")
    notes = []
    if to == "tf1" and config.hidden_act == GELU_EXACT:
        config = dataclasses.replace(config, hidden_act=GELU_TANH)
        notes.append(
            "the Hugging Face config's 'gelu' is the exact erf form, which Google's config "
            "format cannot name; the TF1 config says 'gelu' (the tanh approximation, as every "
            "TF1 release and HFL's TF checkpoints mean it); activations differ by < 1e-3"
        )
    scheme_name, layout = TARGETS[(config.family, to)]
    save_pretrained_folder(
        out, source.backbone, config, source.files.vocab_file, scheme_name, layout=layout
    )
    skipped = len(source.report.skipped_heads) + len(source.report.skipped_optimizer)
    if skipped:
        notes.append(f"{skipped} pretraining-head and optimizer tensors were not carried over")
    for note in notes:
        logger.warning("%s", note)
    return Conversion(source, out, scheme_name, notes)
