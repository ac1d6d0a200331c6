"""Adapter kinds' settings, in plain Python: one frozen dataclass per kind, registered by name,
and the adapter flags generated from them. Importing this package registers the built-in
kinds; the Keras modules that build their layers are classifier.adapters.

    make_adapter_config(kind, **options) / adapter_config_from_dict(data)
    adapter_kinds(), get_adapter_kind(name), register_adapter_kind(name)
"""

from classifier.adapter_config.base import (
    AdapterConfig,
    AdapterConfigError,
    adapter_config_from_dict,
    adapter_kinds,
    get_adapter_kind,
    make_adapter_config,
    register_adapter_kind,
    register_adapter_module,
)
from classifier.adapter_config.bottleneck import (
    AdapterDropConfig,
    BottleneckConfig,
    CompacterConfig,
    HoulsbyConfig,
    PfeifferConfig,
)
from classifier.adapter_config.fusion import FusionConfig
from classifier.adapter_config.k_adapter import KAdapterConfig, KnowledgeAdaptersConfig
from classifier.adapter_config.lora import LoraConfig

__all__ = [
    "AdapterConfig",
    "AdapterConfigError",
    "AdapterDropConfig",
    "BottleneckConfig",
    "CompacterConfig",
    "FusionConfig",
    "HoulsbyConfig",
    "KAdapterConfig",
    "KnowledgeAdaptersConfig",
    "LoraConfig",
    "PfeifferConfig",
    "adapter_config_from_dict",
    "adapter_kinds",
    "get_adapter_kind",
    "make_adapter_config",
    "register_adapter_kind",
    "register_adapter_module",
]
