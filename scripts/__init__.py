"""The command-line entry points (train, pretrain, export, predict, serve, baseline, convert,
build_vocab, make_tiny_checkpoint): argument parsing over the library, nothing more.

Run them as scripts/*.sh, as ``python -m scripts.<name>`` from the repository, or, after
``pip install .``, as the console commands ``zh-textclf-<name>`` (installed as the package
``zh_textclf.cli``, so that no generic ``scripts`` package lands in site-packages; see setup.py).
"""

from .quiet import quiet_startup

quiet_startup()  # before any command module can load TensorFlow
