"""Importing this module registers every naming scheme (one module per scheme)."""

import classifier.checkpoints.brightmart_albert  # noqa: F401
import classifier.checkpoints.google_albert  # noqa: F401
import classifier.checkpoints.google_bert  # noqa: F401
import classifier.checkpoints.hf_albert  # noqa: F401
import classifier.checkpoints.hf_bert  # noqa: F401
