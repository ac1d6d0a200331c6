"""onnxruntime.transformers' BERT fusions over the built graph, and what they fused.

``optimize_model(model_type="bert")`` replaces the standard-op subgraphs of
export.onnx.encoder_graph with onnxruntime's contrib operators (com.microsoft):
EmbedLayerNormalization (embedding sum + LayerNorm), Attention (Q/K/V projections, scaled
dot product, mask and softmax in one kernel), SkipLayerNormalization (residual add + bias +
LayerNorm), FastGelu / Gelu with the bias before it. Only the Python fusions run (opt_level
0): the result is the same on every execution provider, and onnxruntime still applies its own
graph optimisations when a session loads it.

The attention mask stays a raw [batch, sequence] 0/1 mask (AttentionMaskFormat.AttentionMask)
rather than the default sequence-length index, which assumes padding at the end: any mask a
client sends means what it meant to the Keras model.
"""

from __future__ import annotations

import hashlib
import logging

import onnx

logger = logging.getLogger(__name__)

# The fused operators export reports (onnxruntime's get_fused_operator_statistics names), in
# the order a reader checks them.
FUSED_OPERATORS = (
    "EmbedLayerNormalization",
    "Attention",
    "SkipLayerNormalization",
    "FastGelu",
    "Gelu",
    "BiasGelu",
    "LayerNormalization",
)


def fuse_transformer_ops(
    model: onnx.ModelProto, num_heads: int, hidden_size: int
) -> tuple[onnx.ModelProto, dict[str, int]]:
    """(the fused model, {operator: count} of every fused operator present)."""
    from onnxruntime.transformers.fusion_options import AttentionMaskFormat, FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    options = FusionOptions("bert")
    options.attention_mask_format = AttentionMaskFormat.AttentionMask
    with _quiet_producer_warning():
        optimizer = optimize_model(
            model,
            model_type="bert",
            num_heads=num_heads,
            hidden_size=hidden_size,
            optimization_options=options,
            opt_level=0,
        )
        statistics = optimizer.get_fused_operator_statistics()
    fused = optimizer.model
    share_identical_initializers(fused)
    domains = {node.domain for node in fused.graph.node} - {"", "ai.onnx"}
    declared = {opset.domain for opset in fused.opset_import}
    for domain in sorted(domains - declared):  # the fusions use com.microsoft, version 1
        fused.opset_import.append(onnx.helper.make_opsetid(domain, 1))
    onnx.checker.check_model(fused)
    counts = {op: int(statistics.get(op, 0)) for op in FUSED_OPERATORS}
    counts = {op: n for op, n in counts.items() if n}
    logger.info("onnxruntime's transformer fusions: %s", counts)
    return fused, counts


def share_identical_initializers(model: onnx.ModelProto) -> int:
    """Points every node at one copy of each distinct initializer; returns how many copies
    went. The attention fusion packs Q/K/V weights per Attention node, so ALBERT's shared
    layers would otherwise be stored once per layer (12 times for albert_base)."""
    graph = model.graph
    first: dict[tuple, str] = {}
    renamed: dict[str, str] = {}
    kept = []
    for tensor in graph.initializer:
        key = (
            tensor.data_type,
            tuple(tensor.dims),
            hashlib.sha256(onnx.numpy_helper.to_array(tensor).tobytes()).hexdigest(),
        )
        if key in first:
            renamed[tensor.name] = first[key]
        else:
            first[key] = tensor.name
            kept.append(tensor)
    if not renamed:
        return 0
    del graph.initializer[:]
    graph.initializer.extend(kept)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renamed:
                node.input[i] = renamed[name]
    return len(renamed)


class _quiet_producer_warning:
    """onnxruntime.transformers logs every fusion at INFO (export.sh prints what fused in one
    line) and warns that a model not made by torch.onnx may be of another type (this graph is
    laid out as torch.onnx lays out BERT, so that says nothing here). Its modules log under
    their bare file names (fusion_base, onnx_model, ...): those loggers are held at WARNING,
    without that warning, while the fusions run, unless export logs at DEBUG."""

    def __enter__(self):
        from pathlib import Path

        import onnxruntime.transformers as package

        modules = {path.stem for path in Path(package.__file__).parent.glob("*.py")}
        self._filter = _DropProducerWarning()
        self._levels = {}
        for name in [*modules, *(f"{package.__name__}.{m}" for m in modules)]:
            held = logging.getLogger(name)
            held.addFilter(self._filter)
            if not logger.isEnabledFor(logging.DEBUG):
                self._levels[name] = held.level
                held.setLevel(max(held.getEffectiveLevel(), logging.WARNING))
        return self

    def __exit__(self, *exc):
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        for held in logging.root.manager.loggerDict.values():
            if isinstance(held, logging.Logger):
                held.removeFilter(self._filter)
        return False


class _DropProducerWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "Model producer not matched" not in record.getMessage()
