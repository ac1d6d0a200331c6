"""Importing this module registers every naming scheme (one module per scheme)."""

from classifier.checkpoints import (  # noqa: F401
    brightmart_albert,
    google_albert,
    google_bert,
    hf_albert,
    hf_bert,
)
