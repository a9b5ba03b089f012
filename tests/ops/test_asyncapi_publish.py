"""docs/asyncapi/intake-publish.json, the publish side for channel systems, is what
docs/asyncapi/publish.py builds from the code now; its exchange and routing keys are the
topology's; every message type has an example that validates against both the document's
JSON schema and the intake contract. Regenerate: `make asyncapi`."""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys

import jsonschema
import pytest

from suqiu.services.intake.contracts import INTAKE_MESSAGE_ADAPTER
from suqiu.shared.contracts import Channel
from suqiu.shared.settings import REPO_ROOT
from suqiu.shared.topology import Topology

pytestmark = pytest.mark.unit

COMMITTED = REPO_ROOT / "docs/asyncapi/intake-publish.json"
DOC = json.loads(COMMITTED.read_text(encoding="utf-8"))
EXAMPLES = REPO_ROOT / "deploy/examples/intake"


def test_committed_document_matches_the_code() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": "."}
    out = subprocess.run([sys.executable, "docs/asyncapi/publish.py"], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout) == DOC, "docs/asyncapi/intake-publish.json is stale: make asyncapi"


def test_exchange_and_routing_keys_are_the_topology_s() -> None:
    topology = Topology("suqiu")
    bound = topology.work_queue("intake").binding_keys
    for key, channel in DOC["channels"].items():
        exchange = channel["bindings"]["amqp"]["exchange"]
        assert exchange == {"name": topology.intake_exchange, "type": "topic", "durable": True,
                            "autoDelete": False, "vhost": "/"}
        addresses = ([channel["address"].replace("{channel}", c) for c in
                      channel["parameters"]["channel"]["enum"]]
                     if "parameters" in channel else [channel["address"]])
        for address in addresses:
            assert any(fnmatch.fnmatchcase(address, b.replace("*", "[!.]*")) for b in bound), address
        if key not in ("submitted", "command"):
            assert channel["address"] == topology.intake_routing_key(key)
            assert key in {c.value for c in Channel}
    assert set(DOC["channels"]["submitted"]["parameters"]["channel"]["enum"]) == {
        c.value for c in Channel}


def test_publish_rules_are_stated() -> None:
    text = DOC["info"]["description"]
    for rule in ("persistent", "message_id", "confirms", "mandatory", "suqiu.intake"):
        assert rule in text, rule
    for operation in DOC["operations"].values():
        assert operation["action"] == "send"
        assert operation["bindings"]["amqp"]["deliveryMode"] == 2
        assert operation["bindings"]["amqp"]["mandatory"] is True


@pytest.mark.parametrize("name", sorted(DOC["components"]["messages"]))
def test_every_message_has_a_valid_example(name: str) -> None:
    message = DOC["components"]["messages"][name]
    (example,) = message["examples"]
    committed = json.loads((EXAMPLES / f"{example['name']}.json").read_text(encoding="utf-8"))
    assert example["payload"] == committed
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema",
              "components": DOC["components"], "$ref": message["payload"]["$ref"]}
    jsonschema.validate(committed, schema)
    parsed = INTAKE_MESSAGE_ADAPTER.validate_python(committed)
    assert parsed.type == message["name"] == message["bindings"]["amqp"]["messageType"]


def test_every_example_file_is_in_the_document() -> None:
    documented = {m["examples"][0]["name"] for m in DOC["components"]["messages"].values()}
    assert documented == {p.stem for p in EXAMPLES.glob("*.json")}
