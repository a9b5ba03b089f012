"""The committed AsyncAPI documents (docs/asyncapi/) are what FastStream generates from the
code now, and every subscriber documents its real payload model. Regenerate: `make asyncapi`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from suqiu.shared.settings import REPO_ROOT
from suqiu.shared.topology import SERVICES

pytestmark = pytest.mark.unit

DOCS = REPO_ROOT / "docs/asyncapi"


def _generate(out_dir: Path) -> dict[str, subprocess.Popen[bytes]]:
    """The Makefile's command for every service, in parallel, in a clean environment."""
    faststream = Path(sys.executable).parent / "faststream"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": "."}
    return {
        s: subprocess.Popen(
            [str(faststream), "docs", "gen", "--app-dir", "docs/asyncapi", "--factory",
             f"apps:{s}", "--out", str(out_dir / f"{s}.json")],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for s in SERVICES
    }


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict | str]:
    out = tmp_path_factory.mktemp("asyncapi")
    docs: dict[str, dict | str] = {}
    for service, proc in _generate(out).items():
        output, _ = proc.communicate(timeout=120)
        docs[service] = (json.loads((out / f"{service}.json").read_text(encoding="utf-8"))
                         if proc.returncode == 0 else output.decode()[-3000:])
    return docs


def _doc(generated: dict[str, dict | str], service: str) -> dict:
    doc = generated[service]
    assert isinstance(doc, dict), f"{service}: faststream docs gen failed:\n{doc}"
    return doc


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_matches_the_code(generated: dict[str, dict | str], service: str) -> None:
    committed = DOCS / f"{service}.json"
    assert committed.exists(), f"{committed} missing: run `make asyncapi`"
    assert json.loads(committed.read_text(encoding="utf-8")) == _doc(generated, service), (
        f"docs/asyncapi/{service}.json is stale: run `make asyncapi` and commit the result")


@pytest.mark.parametrize("service", SERVICES)
def test_subscribers_document_their_payload_model(generated: dict[str, dict | str],
                                                  service: str) -> None:
    doc = _doc(generated, service)
    assert doc["asyncapi"].startswith("3.")
    channels = doc["channels"]
    assert [c["address"] for c in channels.values()] == [f"suqiu.{service}.work"]
    schemas = doc["components"]["schemas"]
    for message in doc["components"]["messages"].values():
        ref = message["payload"].get("$ref", "")
        payload = schemas[ref.rsplit("/", 1)[-1]] if ref else message["payload"]
        # A model (properties) or a tagged union of event models (oneOf with a discriminator).
        assert payload.get("properties") or payload.get("oneOf") or payload.get("anyOf"), payload
        assert payload.get("title") != "EmptyPayload"
