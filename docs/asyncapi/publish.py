"""The publish side of intake as an AsyncAPI 3.0 document (docs/asyncapi/intake-publish.json).

FastStream documents what each service consumes (docs/asyncapi/<service>.json). A channel
system needs the other half: which exchange, which routing key, which message properties and
what the broker promises. This builds it from the code: exchange and routing keys from
shared/topology.py, payload schemas from the intake contracts, and one example per message
type from deploy/examples/intake/ (validated against the contract while building).
`make asyncapi` writes it; tests/ops/test_asyncapi_publish.py fails when it is stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from suqiu.services.intake.contracts import INTAKE_MESSAGE_ADAPTER, IntakeMessage
from suqiu.shared.contracts import Channel
from suqiu.shared.topology import Topology

EXAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "examples" / "intake"
AMQP = {"bindingVersion": "0.3.0"}
# The message types a channel publishes under its own routing key; the generic envelope
# may use any channel's key (its `channel` field says which), commands use intake.command.
CHANNEL_OF_TYPE = {
    "intake.hotline_call": "hotline", "intake.web_form": "web", "intake.wechat": "wechat",
    "intake.email": "email", "intake.sms": "sms", "intake.letter": "letter",
    "intake.walk_in": "walk_in", "intake.transfer": "transfer", "intake.app": "app",
    "intake.revalidate": "command",
}
RULES = (
    "Publish every message to the topic exchange `{exchange}` (durable; declared by the "
    "intake service) with the routing key of its channel below. Rules for every message: "
    "(1) body UTF-8 JSON, content_type `application/json`; "
    "(2) persistent (delivery_mode 2); "
    "(3) AMQP `message_id` = the channel's own id of the message (`message_id` or "
    "`channel_message_id` in the body, printable ASCII, at most 128 characters): the pair "
    "(channel, message id) is the idempotency key, so resending after a lost confirm never "
    "creates a second ticket, and a different message must never reuse an id; "
    "(4) publisher confirms on, and `mandatory`: a message counts as delivered only when the "
    "broker confirms it; on a nack, a timeout or a returned message, publish it again with the "
    "same message id; "
    "(5) bad input is not lost: it is dead-lettered to `{dlq}` with the field and reason in the "
    "headers `x-suqiu-error-reason` and `x-suqiu-error-detail`. docs/publishing.md has "
    "examples in Python, Java and Go."
)


def _models() -> list[type[BaseModel]]:
    union = get_args(get_args(IntakeMessage)[0])
    return [m for m in union if isinstance(m, type) and issubclass(m, BaseModel)]


def _type_tag(model: type[BaseModel]) -> str:
    return str(model.model_fields["type"].default)


def _example(tag: str) -> dict[str, Any]:
    name = tag.removeprefix("intake.") + ".json"
    data = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    INTAKE_MESSAGE_ADAPTER.validate_python(data)  # a stale example fails the build
    return {"name": name.removesuffix(".json"), "summary": f"deploy/examples/intake/{name}",
            "payload": data}


def document(namespace: str = "suqiu") -> dict[str, Any]:
    topology = Topology(namespace)
    exchange = {"name": topology.intake_exchange, "type": "topic", "durable": True,
                "autoDelete": False, "vhost": "/"}
    models = _models()
    _, schemas = models_json_schema([(m, "validation") for m in models],
                                    ref_template="#/components/schemas/{model}")
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for model in models:
        tag = _type_tag(model)
        name = model.__name__
        messages[name] = {
            "name": tag, "title": name, "contentType": "application/json",
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "bindings": {"amqp": {**AMQP, "messageType": tag, "contentEncoding": "utf-8"}},
            "examples": [_example(tag)],
        }
        if tag == "intake.submitted":
            key, address = "submitted", "intake.{channel}"
            parameters = {"channel": {"enum": [c.value for c in Channel],
                                      "description": "The envelope's `channel` field."}}
        else:
            key = CHANNEL_OF_TYPE[tag]
            address, parameters = topology.intake_routing_key(key), {}
        channels[key] = {
            "address": address, "title": f"{tag} on {address}",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {"amqp": {**AMQP, "is": "routingKey", "exchange": exchange}},
            **({"parameters": parameters} if parameters else {}),
        }
        operations[f"publish_{key}"] = {
            "action": "send", "channel": {"$ref": f"#/channels/{key}"},
            "messages": [{"$ref": f"#/channels/{key}/messages/{name}"}],
            "summary": f"A channel system publishes {tag}.",
            "bindings": {"amqp": {**AMQP, "deliveryMode": 2, "mandatory": True}},
        }
    wq = topology.work_queue("intake")
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "suqiu intake: publishing complaints", "version": "1",
                 "description": RULES.format(exchange=topology.intake_exchange, dlq=wq.dlq)},
        "defaultContentType": "application/json",
        "servers": {"broker": {"host": "rabbitmq:5672", "protocol": "amqp",
                               "protocolVersion": "0.9.1",
                               "description": "The RabbitMQ of the deployment (AMQP_URL)."}},
        "channels": channels, "operations": operations,
        "components": {"messages": messages, "schemas": schemas["$defs"]},
    }


if __name__ == "__main__":
    json.dump(document(), sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
