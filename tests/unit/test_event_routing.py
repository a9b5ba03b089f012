"""Every event the code can publish is bound to a queue: an event nobody hears is a bug.

The event types are found in the source itself (every event class a service or shared module
names), not in a hand-kept list, so a new event without a binding fails here.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from suqiu.shared.contracts import events
from suqiu.shared.outbox import COMMAND_ROUTING_KEY
from suqiu.shared.topology import COMMAND_BINDINGS, bound_event_types

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def _event_classes() -> dict[str, type[BaseModel]]:
    return {name: cls for name, cls in vars(events).items()
            if isinstance(cls, type) and issubclass(cls, BaseModel) and "type" in cls.model_fields
            and not name.startswith("_")}


def _type_of(cls: type[BaseModel]) -> str:
    return str(cls.model_fields["type"].default)


def _named_in_code() -> dict[str, set[str]]:
    """Event class -> the modules (services/, shared/, suqiu/) that name it outside imports."""
    classes = _event_classes()
    found: dict[str, set[str]] = {}
    for top in ("services", "shared", "suqiu"):
        for path in (ROOT / top).rglob("*.py"):
            if path.parts[-2:] == ("contracts", "events.py"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Name) and node.id in classes:
                    found.setdefault(node.id, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_event_class_is_in_the_event_union() -> None:
    union = typing.get_args(typing.get_args(events.TicketEvent)[0])
    assert set(_event_classes().values()) == set(union)


def test_every_event_the_code_names_is_bound_to_a_queue() -> None:
    named = _named_in_code()
    assert {"TicketEscalated", "TicketExtensionRequested", "TicketTriageRequired"} <= set(named)
    classes = _event_classes()
    unbound = {_type_of(classes[n]): sorted(where) for n, where in named.items()
               if _type_of(classes[n]) not in bound_event_types()}
    assert unbound == {}


def test_every_event_type_of_the_contract_is_bound() -> None:
    assert {_type_of(c) for c in _event_classes().values()} <= bound_event_types()


def test_commands_in_an_outbox_reach_the_dispatcher() -> None:
    assert COMMAND_ROUTING_KEY in COMMAND_BINDINGS["dispatcher"]
