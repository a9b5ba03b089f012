"""Build hook: ship deploy/config (the one copy of the default configuration) as the package
data `suqiu/shared/defaults/`, where shared.resources.default_config finds it in an installed wheel.
Everything else is declared in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONFIG = Path(__file__).resolve().parent / "deploy" / "config"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "suqiu" / "shared" / "defaults"
        target.mkdir(parents=True, exist_ok=True)
        for source in sorted(CONFIG.glob("*.yaml")):
            shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildPy})
