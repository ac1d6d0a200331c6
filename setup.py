"""Package layout (everything else is in pyproject.toml).

The library's four packages keep their names; the command-line modules in scripts/ install as
``zh_textclf_cli`` (the console commands' home), so that no package called ``scripts`` lands in
site-packages. pyproject.toml alone cannot list found packages next to a renamed one.
"""

from setuptools import find_packages, setup

LIBRARY = ["classifier", "classifier.*", "processors", "processors.*", "export", "export.*"]
LIBRARY += ["serving", "serving.*"]

setup(
    packages=[*find_packages(include=LIBRARY), "zh_textclf_cli"],
    package_dir={"zh_textclf_cli": "scripts"},
)
