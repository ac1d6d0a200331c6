"""Importing this module registers every naming scheme: each registered backbone family names
the modules of its schemes (``checkpoint_scheme_modules``), so a new family's scheme needs no
line here."""

import importlib

from classifier.backbones import BACKBONES

for _family in BACKBONES.values():
    for _module in _family.checkpoint_scheme_modules:
        importlib.import_module(_module)
