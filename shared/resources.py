"""Files the package ships: default configuration, the classifier's model and corpus, templates.

Found through importlib.resources, so an installed wheel (not editable, not run from the
repository) finds them as well as a checkout does. The default configuration has one copy,
`deploy/config/` in the repository; the build ships it as the package data `shared/defaults/`
(setup.py), and a checkout reads it where it is.
"""

from __future__ import annotations

from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

__all__ = ["default_config", "package_dir", "suqiu_version"]

_CHECKOUT_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "config"


def package_dir(package: str, name: str) -> Path:
    """A directory shipped inside `package` (e.g. the classifier's `models`)."""
    return Path(str(resources.files(package) / name))


def default_config(name: str) -> Path:
    """The shipped default configuration file `name` (catalogue.yaml, routing.yaml, ...)."""
    shipped = resources.files("suqiu.shared") / "defaults" / name
    if shipped.is_file():
        return Path(str(shipped))
    return _CHECKOUT_CONFIG / name


def suqiu_version() -> str:
    """The installed distribution's version."""
    try:
        return version("suqiu")
    except PackageNotFoundError:  # a checkout on PYTHONPATH without an install
        return "0+unknown"
