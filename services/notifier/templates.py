"""Jinja2 templates, Simplified Chinese, one file per event with a block per form of the text.

Each `templates/<event type>.j2` defines the blocks `sms`, `title` and `body`; e-mail uses
`title` as subject and `body` as text (the HTML part is `_email.html.j2` around the body),
WeChat uses `title` and `body`, inbox and webhooks carry `body`. An operator overrides any
file by putting one with the same name into SUQIU_NOTIFIER_TEMPLATES_DIR; to change only one
block, start the file with `{% extends "builtin/<event type>.j2" %}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    TemplateError,
    select_autoescape,
)

from suqiu.shared.resources import package_dir

__all__ = ["BUILTIN_DIR", "Rendered", "TemplateBook", "TemplateProblem"]

BUILTIN_DIR = package_dir("suqiu.services.notifier", "templates")
BLOCKS = ("sms", "title", "body")


class TemplateProblem(Exception):
    """A template is missing, lacks a block, or fails to render."""


@dataclass(frozen=True)
class Rendered:
    sms: str
    title: str
    body: str


class TemplateBook:
    """Renders an event's blocks; operator files shadow the built-in ones."""

    def __init__(self, override_dir: Path | None = None) -> None:
        loaders: list[Any] = []
        if override_dir is not None:
            loaders.append(FileSystemLoader(str(override_dir)))
        loaders += [PrefixLoader({"builtin": FileSystemLoader(str(BUILTIN_DIR))}),
                    FileSystemLoader(str(BUILTIN_DIR))]
        self._env = Environment(
            loader=ChoiceLoader(loaders), undefined=StrictUndefined, keep_trailing_newline=False,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        )

    def event_types(self) -> list[str]:
        return sorted(p.name.removesuffix(".j2") for p in BUILTIN_DIR.glob("[a-z]*.j2"))

    def check(self, sample_contexts: dict[str, dict[str, Any]]) -> None:
        """Render every event with a sample context at start-up: a broken override stops the
        service instead of failing at 3 a.m."""
        for event_type, ctx in sample_contexts.items():
            self.render(event_type, ctx)
        self.html("标题", "正文", "签名")

    def render(self, name: str, context: dict[str, Any]) -> Rendered:
        try:
            tmpl = self._env.get_template(f"{name}.j2")
            ctx = tmpl.new_context(dict(context))
            # Rendering the whole template resolves `{% extends %}`: afterwards ctx.blocks
            # holds each block's override chain, the most derived first.
            "".join(tmpl.root_render_func(ctx))
            out = {}
            for block in BLOCKS:
                if not ctx.blocks.get(block):
                    raise TemplateProblem(f"template {name}.j2 has no block {block!r}")
                out[block] = "".join(ctx.blocks[block][0](ctx)).strip()
        except TemplateError as exc:
            raise TemplateProblem(f"template {name}.j2: {exc}") from exc
        return Rendered(**out)

    def html(self, title: str, body: str, signature: str) -> str:
        """The HTML alternative of an e-mail: the text body, escaped, one paragraph per line."""
        try:
            return self._env.get_template("_email.html.j2").render(
                title=title, lines=[ln for ln in body.splitlines() if ln.strip()],
                signature=signature)
        except TemplateError as exc:
            raise TemplateProblem(f"template _email.html.j2: {exc}") from exc
