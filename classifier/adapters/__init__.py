"""Parameter-efficient fine-tuning: adapters on a frozen backbone, saved and swapped per task.

    apply_adapters(backbone, config)  -> AdaptedBackbone (the backbone's inputs and outputs)
    make_adapter_config(kind, **options) / adapter_config_from_dict(data)
    save_adapter(folder, classifier, spec): the small artifact (adapter + head + spec)
    merged_backbone(adapted): LoRA folded into a copy of the base backbone's kernels
    base_fingerprint(backbone): what a saved adapter records about its base

Loading a saved adapter as a classifier, and several tasks on one backbone: classifier.adapter_tasks
(load_adapter, AdapterSet), above the model that assembles them.

Kinds (registered by name): houlsby, pfeiffer, lora, k_adapter, fusion, adapter_drop,
compacter, knowledge (K-Adapter phase 2: infused knowledge adapters beside the backbone).
See docs/adapters.md and docs/pretraining.md.
"""

from classifier.adapter_config import (
    AdapterConfig,
    AdapterConfigError,
    AdapterDropConfig,
    CompacterConfig,
    FusionConfig,
    HoulsbyConfig,
    KAdapterConfig,
    KnowledgeAdaptersConfig,
    LoraConfig,
    PfeifferConfig,
    adapter_config_from_dict,
    adapter_kinds,
    get_adapter_kind,
    make_adapter_config,
    register_adapter_kind,
)
from classifier.adapter_config.flags import adapter_config_from_flags
from classifier.adapter_config.saved_adapter import (
    ADAPTER_DIR,
    AdapterError,
    BaseModelMismatchError,
    read_adapter_config,
)
from classifier.adapter_config.saved_knowledge import KnowledgeAdapterError
from classifier.adapters import (
    adapter_drop,
    bottleneck_adapters,
    compacter,
    fusion,
    k_adapter,
    knowledge,
    lora,
)
from classifier.adapters.adapted_backbone import AdaptedBackbone, freeze_backbone
from classifier.adapters.apply import apply_adapters
from classifier.adapters.fingerprint import base_fingerprint
from classifier.adapters.inference import can_merge, merged_backbone
from classifier.adapters.knowledge import save_knowledge_adapter
from classifier.adapters.storage import save_adapter

# The Keras modules of the built-in kinds: each registers itself for its kinds on import, so a
# config's build() finds them once this package is imported.
BUILTIN_MODULES = (adapter_drop, bottleneck_adapters, compacter, fusion, k_adapter, knowledge, lora)

__all__ = [
    "ADAPTER_DIR",
    "AdaptedBackbone",
    "AdapterConfig",
    "AdapterConfigError",
    "AdapterDropConfig",
    "AdapterError",
    "BaseModelMismatchError",
    "CompacterConfig",
    "FusionConfig",
    "HoulsbyConfig",
    "KAdapterConfig",
    "KnowledgeAdapterError",
    "KnowledgeAdaptersConfig",
    "LoraConfig",
    "PfeifferConfig",
    "adapter_config_from_dict",
    "adapter_config_from_flags",
    "adapter_kinds",
    "apply_adapters",
    "base_fingerprint",
    "freeze_backbone",
    "get_adapter_kind",
    "can_merge",
    "make_adapter_config",
    "merged_backbone",
    "read_adapter_config",
    "register_adapter_kind",
    "save_adapter",
    "save_knowledge_adapter",
]
