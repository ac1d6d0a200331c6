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

from classifier.adapters.adapted_backbone import AdaptedBackbone, freeze_backbone
from classifier.adapters.adapter_drop import AdapterDropConfig
from classifier.adapters.apply import apply_adapters
from classifier.adapters.compacter import CompacterConfig
from classifier.adapters.config import (
    AdapterConfig,
    AdapterConfigError,
    adapter_config_from_dict,
    adapter_kinds,
    get_adapter_kind,
    make_adapter_config,
    register_adapter_kind,
)
from classifier.adapters.fingerprint import base_fingerprint
from classifier.adapters.flags import adapter_config_from_flags
from classifier.adapters.fusion import FusionConfig
from classifier.adapters.houlsby import HoulsbyConfig
from classifier.adapters.inference import can_merge, merged_backbone
from classifier.adapters.k_adapter import KAdapterConfig
from classifier.adapters.knowledge import (
    KnowledgeAdapterError,
    KnowledgeAdaptersConfig,
    save_knowledge_adapter,
)
from classifier.adapters.lora import LoraConfig
from classifier.adapters.pfeiffer import PfeifferConfig
from classifier.adapters.storage import (
    ADAPTER_DIR,
    AdapterError,
    BaseModelMismatchError,
    read_adapter_config,
    save_adapter,
)

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
