"""pretrain.sh's settings, each declared once with its flag (classifier.options): the argparse
flags of scripts/pretrain.py, PretrainOptions' validation and docs/flags.md come from here."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from classifier.distribution import STRATEGIES
from classifier.flag_types import (
    non_negative_float,
    non_negative_int,
    number,
    positive_float,
    positive_int,
)
from classifier.options import option, validate
from classifier.pretraining.words import MASKING_MODES

if TYPE_CHECKING:
    from classifier.adapter_config import KAdapterConfig

PRETRAIN = frozenset({"pretrain"})
NO_FLAG: frozenset[str] = frozenset()
OUTPUT_FORMATS = ("tf1", "hf")
KNOWLEDGE_TASKS = ("mlm", "tagging")
DOCUMENT_FORMATS = ("auto", "blank_lines", "lines")
TEXT, MODEL, MASKING, TRAINING = "text", "model", "masking", "training"
KNOWLEDGE = "K-Adapter knowledge infusion (phase 1)"
GROUPS = (TEXT, MODEL, MASKING, TRAINING)  # pretrain.sh --help's sections, in order


def _flag(help: str = "", group: str = TRAINING, **kwargs: Any) -> dict[str, Any]:
    return {"help": help, "commands": PRETRAIN, "group": group, **kwargs}


def _count(name: str, help: str, group: str = TRAINING, says: str = "at least 1") -> dict:
    """A whole number of at least 1, refused as "--<name> must be <says>"."""
    return _flag(
        help, group, parse=positive_int, check=lambda v: v >= 1, message=f"--{name} must be {says}"
    )


@dataclass(frozen=True)
class PretrainOptions:
    """How to pretrain: each field is one pretrain.sh flag (or, without one, an internal
    setting). ``learning_rate`` None: default_learning_rate(); ``num_warmup_steps`` None: 10%
    of the steps."""

    input_file: str = option(
        **_flag(
            "UTF-8 text files, comma-separated, globs allowed: documents separated by blank "
            "lines, or one document per line",
            TEXT,
            required=True,
        )
    )
    output_dir: str = option(
        **_flag(
            "the checkpoints, the summary and at the end the pretrained model folder", required=True
        )
    )
    document_format: str = option(
        "auto",
        **_flag(
            "auto: blank-line-separated documents if a file has blank lines, else one per line",
            TEXT,
            choices=DOCUMENT_FORMATS,
            message=f"--document_format must be one of {DOCUMENT_FORMATS}",
        ),
    )
    eval_fraction: float = option(
        0.02,
        **_flag(
            "documents held out",
            TEXT,
            parse=number(float, 0, 1, high_open=True),
            check=lambda v: 0 <= v < 1,
            message="--eval_fraction must be in [0, 1)",
        ),
    )
    max_eval_sequences: int = option(
        2000, **_flag("held-out sequences evaluated at most", TEXT, parse=non_negative_int)
    )
    model_dir: str | None = option(
        None,
        **_flag(
            "checkpoint folder, or Hugging Face model id (owner/name) or preset name read from "
            "the Hugging Face cache, to continue pretraining (default $BERT_BASE_DIR)",
            MODEL,
            env="BERT_BASE_DIR",
        ),
    )
    config_file: str | None = option(
        None,
        **_flag(
            "model config JSON: with --vocab_file and no --model_dir, pretrain from scratch",
            MODEL,
            flags=("--bert_config_file", "--config_file"),
        ),
    )
    vocab_file: str | None = option(None, **_flag("vocab.txt (see scripts/build_vocab.sh)", MODEL))
    init_checkpoint: str | None = option(
        None, **_flag("checkpoint prefix or file (default: in --model_dir)", MODEL)
    )
    allow_pytorch_pickle: bool = option(
        False, **_flag("read a Hugging Face pytorch_model.bin", MODEL, boolean=True)
    )
    allow_vocab_mismatch: bool = option(
        False,
        **_flag(
            "accept a vocab.txt with fewer tokens than the config's vocab_size (an embedding "
            "table with unused rows); otherwise a size mismatch is an error",
            MODEL,
            boolean=True,
        ),
    )
    do_lower_case: bool = option(
        True,
        **_flag("lower-case and strip accents (Chinese releases: true)", MODEL, boolean=True),
    )
    max_seq_length: int = option(
        128,
        **_flag(
            "tokens per training sequence, [CLS] and [SEP] included",
            group=MASKING,
            parse=number(int, 8, 512),
            check=lambda v: v >= 8,
            message="--max_seq_length must be at least 8",
        ),
    )
    max_predictions_per_seq: int = option(
        20,
        **_count("max_predictions_per_seq", "masked positions per sequence at most", group=MASKING),
    )
    masked_lm_prob: float = option(
        0.15,
        **_flag(
            "share of the tokens masked",
            group=MASKING,
            parse=number(float, 0, 1, low_open=True),
            check=lambda v: 0 < v < 1,
            message="--masked_lm_prob must be in (0, 1)",
        ),
    )
    masking: str = option(
        "whole_word",
        **_flag(
            "whole_word: every WordPiece of a jieba word masked together; token: plain BERT",
            MASKING,
            choices=MASKING_MODES,
            message=f"--masking must be one of {MASKING_MODES}",
        ),
    )
    jieba_user_dict: str | None = option(
        None, **_flag("jieba user dictionary (one word per line)", MASKING)
    )
    overwrite: bool = option(
        False, **_flag("start again in an --output_dir that holds a run", boolean=True)
    )
    train_batch_size: int = option(
        32, **_count("train_batch_size", "sequences per step (per replica)", says="positive")
    )
    eval_batch_size: int = option(
        64, **_count("eval_batch_size", "held-out evaluation batch", says="positive")
    )
    learning_rate: float | None = option(
        None,
        **_flag(
            "peak rate (default: 1e-4 from a checkpoint or for a knowledge adapter; from "
            "scratch 1e-3 up to hidden 128, 5e-4 up to 256, 1e-4 above)",
            parse=positive_float,
            check=lambda v: v is None or v > 0,
            message="--learning_rate must be positive",
        ),
    )
    num_train_steps: int = option(10000, **_count("num_train_steps", "training steps (batches)"))
    num_warmup_steps: int | None = option(
        None, **_flag("default: 10%% of num_train_steps", parse=non_negative_int)
    )
    weight_decay: float = option(0.01, **_flag("AdamW weight decay", parse=non_negative_float))
    adam_epsilon: float = option(1e-6, **_flag("AdamW epsilon", parse=positive_float))
    save_checkpoints_steps: int = option(
        1000,
        **_count(
            "save_checkpoints_steps",
            "checkpoint, held-out evaluation and summary every this many steps",
        ),
    )
    keep_checkpoints: int = option(
        3, **_count("keep_checkpoints", "checkpoints kept (older ones are deleted)")
    )
    distribution_strategy: str = option(
        "default",
        **_flag(
            "default: one device; mirrored: every GPU of this machine; multi_worker: the "
            "machines in TF_CONFIG (docs/distributed.md). --train_batch_size is per replica",
            choices=STRATEGIES,
            message=f"--distribution_strategy must be one of {STRATEGIES}",
        ),
    )
    gradient_accumulation_steps: int = option(
        1,
        **_count(
            "gradient_accumulation_steps",
            "average the gradients of this many batches into one update (Keras's optimizer "
            "option); --num_train_steps and --num_warmup_steps count batches",
        ),
    )
    log_every_steps: int = option(
        100,
        **_count(
            "log_every_steps",
            "log loss, accuracy, learning rate and tokens/s every this many steps",
        ),
    )
    seed: int = option(
        12345,
        **_flag("seeds new weights, masking, dropout and the data order", parse=non_negative_int),
    )
    bf16: bool = option(
        False, **_flag("mixed precision: bfloat16 compute, float32 weights", boolean=True)
    )
    output_format: str = option(
        "tf1",
        **_flag(
            "tf1: Google's format; hf: config.json + model.safetensors (BertForMaskedLM names)",
            choices=OUTPUT_FORMATS,
            message=f"--output_format must be one of {OUTPUT_FORMATS}",
        ),
    )
    knowledge_task: str | None = option(
        None,
        **_flag(
            "mlm: masked LM over domain text; tagging: part of speech and word position from "
            "a word/tag corpus (People's Daily format)",
            KNOWLEDGE,
            choices=KNOWLEDGE_TASKS,
            message=f"--knowledge_task must be one of {KNOWLEDGE_TASKS}",
        ),
    )
    clip_norm: float = option(1.0, commands=NO_FLAG)
    # K-Adapter phase 1: its knowledge adapter's options (the adapter flags, adapters/flags.py)
    adapter_config: KAdapterConfig | None = None

    def __post_init__(self) -> None:
        validate(self)
        if self.num_warmup_steps is not None and not (
            0 <= self.num_warmup_steps <= self.num_train_steps
        ):
            raise ValueError("--num_warmup_steps must be in [0, num_train_steps]")

    @property
    def warmup_steps(self) -> int:
        if self.num_warmup_steps is not None:
            return self.num_warmup_steps
        return int(round(0.1 * self.num_train_steps))

    def run_config(self) -> dict[str, Any]:
        """What decides the result: compared when a run is resumed (logging is not)."""
        data = asdict(self)
        data["adapter_config"] = self.adapter_config.to_dict() if self.adapter_config else None
        for key in ("overwrite", "log_every_steps", "keep_checkpoints", "eval_batch_size"):
            data.pop(key)
        return data
