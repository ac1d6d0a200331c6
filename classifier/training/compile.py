"""Step 2 of training: the head starts at the label priors; optimizer, loss and metric."""

from __future__ import annotations

import logging

import keras
import numpy as np

from classifier.batching import EncodedExamples
from classifier.heads.base import Head
from classifier.training.optimizer import create_optimizer
from classifier.training.training_config import TrainingConfig

logger = logging.getLogger(__name__)


def initialize_head_bias(
    model: keras.Model, head: Head, config: TrainingConfig, data: EncodedExamples
) -> None:
    """Starts the head at the training label frequencies (why: docs/training.md, and
    MultilabelHead.prior_logits)."""
    options = config.loss_options()
    if options.head_bias_init != "prior":
        return
    bias = head.prior_logits(options, data.labels, data.sample_weights)
    model.head.dense.bias.assign(bias)
    logger.info("head bias set to the training label priors (--head_bias_init=prior)")


def compile_for_training(
    model: keras.Model,
    head: Head,
    config: TrainingConfig,
    total_steps: int,
    targets: np.ndarray,
) -> None:
    """The optimizer, loss and metric every fine-tuning run (and the benchmark) uses;
    ``targets`` are the encoded training labels (they size positive weights)."""
    options = config.loss_options()
    description = head.describe_options(options, targets)
    if description:
        logger.info("%s", description)
    model.compile(
        optimizer=create_optimizer(
            config.learning_rate,
            total_steps,
            config.warmup_proportion,
            config.weight_decay,
            config.clip_norm,
            epsilon=config.adam_epsilon,
        ),
        loss=head.loss(options, targets),
        metrics=head.training_metrics(),
        jit_compile=False,
    )
