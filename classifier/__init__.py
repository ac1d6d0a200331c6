"""Chinese text classification on BERT-family backbones with TensorFlow 2 / Keras 3.

Public API:
    load_backbone(model_dir)  -> the pretrained backbone in a downloaded checkpoint folder
    load_pretrained(model_dir) -> the backbone plus its config, files and load report
    build_backbone(config)    -> a randomly initialised backbone for a ModelConfig
"""

from classifier.backbones import build_backbone
from classifier.checkpoints import load_backbone, load_pretrained
from classifier.config import ModelConfig

__all__ = ["ModelConfig", "build_backbone", "load_backbone", "load_pretrained"]
