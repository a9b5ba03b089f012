"""The image's file layout and environment, read from deploy/Dockerfile and deploy/compose.yaml,
rebuilt under a temporary root directory: `/etc/suqiu` becomes `<root>/etc/suqiu`, and so on.

Nothing here restates the layout: the virtualenv path, the files copied into the runtime
stage, the image's ENV, compose's environment, volumes and secrets all come from the two files,
so a change there that breaks the layout breaks tests/e2e/test_installed_package.py.
"""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import yaml

from suqiu.shared.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
_VAR = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


def _stages(dockerfile: str) -> list[list[str]]:
    """Instructions per stage, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n\s*", " ", dockerfile)
    stages: list[list[str]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


class ImageLayout:
    """The runtime stage of deploy/Dockerfile plus the compose service definitions."""

    def __init__(self) -> None:
        stages = _stages((DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
        self.build, self.runtime = stages[0], stages[-1]
        venvs = [m.group(1) for line in self.build
                 for m in [re.search(r"python -m venv (\S+)", line)] if m]
        assert len(venvs) == 1, "the build stage creates one virtualenv"
        self.venv = venvs[0]
        copied = [line for line in self.runtime if line.upper().startswith("COPY --FROM=")]
        assert any(shlex.split(c)[-1] == self.venv for c in copied), \
            "the runtime stage copies the build stage's virtualenv"
        self.copies = [tuple(shlex.split(line)[1:]) for line in self.runtime
                       if line.upper().startswith("COPY ") and "--from=" not in line]
        self.env: dict[str, str] = {}
        for line in self.runtime:
            if line.upper().startswith("ENV "):
                for pair in shlex.split(line[4:]):
                    key, _, value = pair.partition("=")
                    self.env[key] = value
        self.workdir = next(line.split()[1] for line in reversed(self.runtime)
                            if line.upper().startswith("WORKDIR "))
        self.compose: dict[str, Any] = yaml.safe_load(
            (DEPLOY / "compose.yaml").read_text(encoding="utf-8"))

    def lay_out(self, root: Path) -> None:
        """Copy what the image and compose put in place under `root` (not the virtualenv)."""
        for source, dest in self.copies:
            _copy(REPO_ROOT / source, root / dest.lstrip("/"))
        (root / self.workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
        for spec in self.suqiu_services().values():
            for volume in spec.get("volumes", []):
                source, target = volume.split(":")[:2]
                _copy(DEPLOY / source, root / target.lstrip("/"))
            for secret in spec.get("secrets", []):
                file = self.compose["secrets"][secret["source"]]["file"]
                # the committed example stands in for the operator's uncommitted file
                _copy(DEPLOY / f"{file}.example", root / secret["target"].lstrip("/"))

    def suqiu_services(self) -> dict[str, dict[str, Any]]:
        """compose service name -> definition, for the services run from the suqiu image."""
        return {name: spec for name, spec in self.compose["services"].items()
                if str(spec.get("image", "")).startswith("suqiu:")}

    def service_env(self, compose_name: str, root: Path,
                    variables: dict[str, str]) -> dict[str, str]:
        """The image's ENV, then compose's environment (interpolated with `variables`), then
        its env_files (the committed `.example` standing in for the operator's file; a required
        one must have an example), absolute paths moved under `root`."""
        spec = self.suqiu_services()[compose_name]
        env = dict(self.env)
        env.update({k: _interpolate(str(v), variables) for k, v in spec["environment"].items()})
        for env_file in spec.get("env_file", []):
            example = DEPLOY / f"{env_file['path']}.example"
            assert example.exists() or not env_file.get("required", True), f"{example} missing"
            if example.exists():
                env.update(env_file_values(example))
        return {k: (str(root / v.lstrip("/")) if v.startswith("/") and k != "PATH" else v)
                for k, v in env.items()}


def env_example() -> dict[str, str]:
    """deploy/.env.example as compose reads deploy/.env."""
    return env_file_values(DEPLOY / ".env.example")


def env_file_values(path: Path) -> dict[str, str]:
    """KEY=value lines (unquoted values, taken literally), comments and blank lines skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def _interpolate(value: str, variables: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        assert m.group(1) in variables, f"{m.group(1)} is not in deploy/.env.example"
        return variables[m.group(1)]
    return _VAR.sub(one, value)


def _copy(source: Path, dest: Path) -> None:
    assert source.exists(), f"{source} does not exist"
    dest.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, dest, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, dest)
