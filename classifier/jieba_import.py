"""jieba, imported once the quiet way: every word segmentation in the project goes through it.

jieba imports the deprecated ``pkg_resources`` (a UserWarning on every fresh process) and logs
"Building prefix dict" lines at its first cut; neither is the user's business.
"""

from __future__ import annotations

import warnings
from types import ModuleType


def quiet_jieba() -> ModuleType:
    """The jieba module, imported without its deprecation warning, its log turned down."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*pkg_resources", category=UserWarning)
        import jieba

    jieba.setLogLevel(60)
    return jieba
