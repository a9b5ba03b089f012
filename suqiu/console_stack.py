"""Credentials that let a local stack's console act through its dispatcher.

The dispatcher's command API authenticates bearer tokens; the console holds one token per
acting identity (the centre's operator, the supervisor, each department). For a local stack
they are generated at start and written, readable by the owner only, to
`<run dir>/console-secrets.json` (the demo-data command reads them from there). An environment
that already sets `SUQIU_DISPATCHER_CREDENTIALS` / `SUQIU_CONSOLE_DISPATCHER_TOKENS` keeps its own.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from suqiu.shared.catalogue import load_catalogue
from suqiu.shared.settings import CommonSettings

__all__ = ["console_env", "load_secrets"]

SECRETS_FILE = "console-secrets.json"


def console_env(run_dir: Path, env: dict[str, str]) -> dict[str, str]:
    secret = {"SUQIU_CONSOLE_SESSION_SECRET": env.get("SUQIU_CONSOLE_SESSION_SECRET")
              or secrets.token_urlsafe(48)}
    if env.get("SUQIU_CONSOLE_DISPATCHER_TOKENS") and env.get("SUQIU_DISPATCHER_CREDENTIALS"):
        return secret
    catalogue = load_catalogue(Path(env.get("SUQIU_CATALOGUE_PATH") or CommonSettings().catalogue_path))
    ids = [d.id for d in catalogue.departments]
    centre = "hotline_centre" if "hotline_centre" in ids else ids[0]
    tokens = {"operator": secrets.token_urlsafe(24), "supervisor": secrets.token_urlsafe(24)}
    principals = {tokens["operator"]: {"department": centre, "role": "operator"},
                  tokens["supervisor"]: {"department": ids[0], "role": "supervisor"}}
    for dept in catalogue.departments:
        tokens[dept.id] = secrets.token_urlsafe(24)
        principals[tokens[dept.id]] = {"department": dept.id, "role": "department"}
    out = {"SUQIU_CONSOLE_DISPATCHER_TOKENS": json.dumps(tokens),
           "SUQIU_DISPATCHER_CREDENTIALS": json.dumps(principals), **secret}
    path = run_dir / SECRETS_FILE
    path.write_text(json.dumps({"tokens": tokens}), encoding="utf-8")
    os.chmod(path, 0o600)
    return out


def load_secrets(run_dir: Path) -> dict[str, str]:
    data = json.loads((run_dir / SECRETS_FILE).read_text(encoding="utf-8"))
    return dict(data["tokens"])
