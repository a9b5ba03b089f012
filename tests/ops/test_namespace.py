"""The package installs one top-level name, `suqiu`: `shared` and `services` live inside it.

`suqiu/shared` and `suqiu/services` are symlinks to the repository's top-level folders, so the
layout the README shows stays; every import must go through `suqiu.` or a module would be
loaded twice under two names (two copies of every class).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BARE = re.compile(r"^\s*(from|import)\s+(shared|services)\b", re.MULTILINE)


def _python_files() -> list[Path]:
    out = list((ROOT / "suqiu").glob("*.py"))
    for top in ("shared", "services", "tests", "docs", "scripts"):
        out += sorted((ROOT / top).rglob("*.py"))
    return out


def test_symlinks_map_the_folders_into_the_namespace() -> None:
    for name in ("shared", "services"):
        link = ROOT / "suqiu" / name
        assert link.is_symlink(), f"suqiu/{name} must be a symlink to ../{name}"
        assert link.resolve() == (ROOT / name).resolve()


def test_no_module_imports_a_bare_top_level_package() -> None:
    offenders = []
    for path in _python_files():
        for match in BARE.finditer(path.read_text(encoding="utf-8")):
            line = path.read_text(encoding="utf-8")[: match.start()].count("\n") + 1
            offenders.append(f"{path.relative_to(ROOT)}:{line}")
    assert not offenders, "import through suqiu.shared / suqiu.services: " + ", ".join(offenders)


def test_modules_load_under_one_name_only() -> None:
    import sys

    import suqiu.shared.store  # noqa: F401

    assert "shared.store" not in sys.modules
    assert "shared" not in sys.modules and "services" not in sys.modules
