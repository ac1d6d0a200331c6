"""Masked-LM pretraining and K-Adapter knowledge infusion (pretrain.sh): corpus, whole-word
masking, TFRecord data, MLM and tagging models, and the resumable run."""
