"""Parity helpers: our backbone's outputs, and the differences printed for the record."""

from __future__ import annotations


def our_outputs(model_dir, batch, **kwargs):
    """sequence_output and pooled_output of our backbone loaded from ``model_dir``."""
    import numpy as np

    import classifier

    token_ids, segment_ids, mask = batch
    backbone = classifier.load_backbone(model_dir, **kwargs)
    out = backbone(
        {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": mask}, training=False
    )
    return np.asarray(out["sequence_output"]), np.asarray(out["pooled_output"])


def report_diffs(label: str, ours, reference) -> tuple[float, float]:
    """Max abs differences of (sequence, pooled), printed for the record (pytest -s)."""
    import numpy as np

    seq = float(np.abs(ours[0] - reference[0]).max())
    pooled = float(np.abs(ours[1] - reference[1]).max())
    scale = float(np.abs(reference[0]).max())
    print(
        f"\n[parity] {label}: max abs diff sequence_output {seq:.2e}, pooled_output {pooled:.2e}"
        f" (max |sequence_output| {scale:.1f})"
    )
    # Random weights everywhere make activations O(1); a wrong mapping gives O(1) errors.
    assert np.abs(reference[0]).mean() > 0.1
    return seq, pooled
