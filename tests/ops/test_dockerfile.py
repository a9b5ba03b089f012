"""deploy/Dockerfile, checked without a Docker engine: two stages, a pinned base image, a
non-root user, no editable install, no training dependencies in the runtime, a read-only
root filesystem (only /tmp written), every configuration path it sets shipped to where it
points, and a .dockerignore that keeps the context small."""

from __future__ import annotations

import re
import tomllib

import pytest

from suqiu.shared.settings import REPO_ROOT
from tests.e2e.image_layout import ImageLayout

pytestmark = pytest.mark.unit

LAYOUT = ImageLayout()
TEXT = (REPO_ROOT / "deploy/Dockerfile").read_text(encoding="utf-8")


def test_multi_stage_with_a_pinned_base_image() -> None:
    froms = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", TEXT, flags=re.M)
    assert len(froms) >= 2 and froms[-1][1] == "runtime"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", TEXT, flags=re.M)
    assert base, "the base image is one ARG, used by every stage"
    image = base.group(1)
    pinned = "@sha256:" in image or re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+", image)
    assert pinned, f"{image}: pin an exact tag or a digest"
    assert all(f == "${PYTHON_IMAGE}" for f, _ in froms)


def test_runtime_runs_as_non_root_and_writes_only_tmp() -> None:
    user = [line for line in LAYOUT.runtime if line.startswith("USER ")]
    assert user and user[-1].split()[1].split(":")[0] not in ("0", "root")
    assert 'VOLUME ["/tmp"]' in LAYOUT.runtime
    assert LAYOUT.env["PYTHONDONTWRITEBYTECODE"] == "1" and LAYOUT.env["HOME"] == "/tmp"
    assert not any(line.startswith("RUN pip") or "pip install" in line for line in LAYOUT.runtime)


def test_the_wheel_is_installed_without_training_dependencies() -> None:
    build = " ".join(LAYOUT.build)
    assert "pip install ." in build and "-e" not in build.split("pip install", 1)[1].split()[0:1]
    assert "[train]" not in TEXT and "[dev]" not in TEXT
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(project["dependencies"]).lower()
    for training in ("scikit-learn", "sklearn", "pandas", "scipy"):
        assert training not in runtime, training
    assert any("scikit-learn" in d for d in project["optional-dependencies"]["train"])


def test_every_configuration_path_the_image_sets_is_shipped_there() -> None:
    copied = {dest: source for source, dest in LAYOUT.copies}
    assert copied.get("/etc/suqiu") == "deploy/config"
    paths = {k: v for k, v in LAYOUT.env.items() if v.startswith("/etc/suqiu/")}
    assert {"SUQIU_CATALOGUE_PATH", "SUQIU_DISPATCHER_ROUTING_PATH", "SUQIU_NOTIFIER_CONFIG_PATH",
            "SUQIU_SLA_POLICY_PATH", "SUQIU_SLA_CALENDAR_OVERRIDES_PATH"} <= set(paths)
    for name, path in paths.items():
        assert (REPO_ROOT / "deploy/config" / path.removeprefix("/etc/suqiu/")).is_file(), name


def test_dockerignore_admits_only_what_the_build_copies() -> None:
    rules = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    active = [r for r in rules if r and not r.startswith("#")]
    assert active[0] == "*", "ignore everything, then admit what is needed"
    admitted = {r.removeprefix("!").rstrip("/") for r in active if r.startswith("!")}
    for line in LAYOUT.build + LAYOUT.runtime:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                assert source.rstrip("/") in admitted, source
                assert (REPO_ROOT / source).exists(), source
    assert ".venv" not in admitted and ".run" not in admitted
