"""Step 2 of training: the head starts at the label priors; optimizer, loss and metric."""

from __future__ import annotations

import logging

import keras
import numpy as np

from classifier.batching import EncodedExamples
from classifier.heads.base import Head
from classifier.step_regularizers import StepRegularizers, word_embedding_variable
from classifier.training.layer_rates import LayerRates
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
    if bias is None:  # the kind has no prior: its bias starts at zero
        return
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
    rates = layer_rates(model, config)
    if rates.active:
        logger.info(
            "learning rates: layer-wise decay %s, head %s",
            rates.decay,
            config.head_learning_rate or config.learning_rate,
        )
    model.step_regularizers = step_regularizers(model, head, config)
    first_step_share = config.ema_decay**total_steps if config.ema_decay is not None else 0.0
    if first_step_share > 0.5:
        logger.warning(
            "--ema_decay %s over %d steps: the averaged weights will still be more than half the "
            "first step's (decay^steps = %.2f); a decay near 1 - 10/steps (%.4f) averages the run",
            config.ema_decay,
            total_steps,
            first_step_share,
            max(0.0, 1 - 10 / total_steps),
        )
    model.compile(
        optimizer=create_optimizer(
            config.learning_rate,
            total_steps,
            config.warmup_proportion,
            config.weight_decay,
            config.clip_norm,
            epsilon=config.adam_epsilon,
            rate_multiplier=rates.function() if rates.active else None,
            ema_decay=config.ema_decay,
            gradient_accumulation_steps=config.gradient_accumulation_steps,
        ),
        loss=head.loss(options, targets),
        metrics=head.training_metrics(),
        jit_compile=False,
    )


def layer_rates(model: keras.Model, config: TrainingConfig) -> LayerRates:
    """--layerwise_lr_decay and --head_learning_rate as per-variable rate multipliers."""
    backbone = model.backbone
    while not hasattr(backbone, "num_hidden_layers") and hasattr(backbone, "backbone"):
        backbone = backbone.backbone  # adapted backbones wrap the base one
    num_layers = int(getattr(backbone, "num_hidden_layers", 0))
    num_groups = int(getattr(backbone, "num_hidden_groups", 1))
    head = None
    if config.head_learning_rate is not None:
        head = config.head_learning_rate / config.learning_rate
    return LayerRates(num_layers, num_groups, config.layerwise_lr_decay, head)


def step_regularizers(model: keras.Model, head: Head, config: TrainingConfig) -> StepRegularizers:
    """FGM and R-Drop settings for the model's train_step (None when neither is on)."""
    regularizers = StepRegularizers(
        fgm_epsilon=config.adv_epsilon if config.adversarial == "fgm" else 0.0,
        rdrop_alpha=config.rdrop_alpha,
        consistency=head.consistency_loss,
    )
    if regularizers.fgm_epsilon > 0:
        regularizers.embedding = word_embedding_variable(model)
        logger.info(
            "FGM adversarial training on the word embeddings, epsilon %s", config.adv_epsilon
        )
    if regularizers.rdrop_alpha > 0:
        logger.info("R-Drop: two dropout passes per batch, alpha %s", config.rdrop_alpha)
    return regularizers
