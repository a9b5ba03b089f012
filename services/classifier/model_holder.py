"""The model the service classifies with, swapped when a new version is published.

`suqiu train --out ROOT` writes ROOT/<version>/ and then replaces ROOT/LATEST atomically; a
service whose model path is ROOT re-reads LATEST at most every `reload_seconds` and loads the
new version between two messages. A version that fails to load is logged and the current
model stays.
"""

from __future__ import annotations

import time
from pathlib import Path

import structlog

from suqiu.services.classifier.domain.model import ModelError, TextModel, load_model, resolve_model_dir

__all__ = ["ModelHolder"]

log = structlog.get_logger("classifier.model")


class ModelHolder:
    def __init__(self, path: Path | None, reload_seconds: float = 0.0) -> None:
        self._path = path
        self._reload = reload_seconds
        self._checked = time.monotonic()
        self._dir: Path | None = None
        self._model: TextModel | None = None
        if path is not None:
            self._dir = resolve_model_dir(path)
            self._model = load_model(self._dir)
            log.info("model_loaded", version=self._model.version, path=str(self._dir))

    @property
    def model(self) -> TextModel | None:
        return self._model

    def current(self) -> TextModel | None:
        """The model to use now, after a cheap check for a newly published version."""
        if self._path is None or self._reload <= 0:
            return self._model
        now = time.monotonic()
        if now - self._checked < self._reload:
            return self._model
        self._checked = now
        return self.reload()

    def reload(self) -> TextModel | None:
        """Load the version LATEST names if it differs from the loaded one."""
        if self._path is None:
            return self._model
        try:
            directory = resolve_model_dir(self._path)
            if directory != self._dir:
                model = load_model(directory)
                log.info("model_reloaded", version=model.version,
                         previous=self._model.version if self._model else None)
                self._dir, self._model = directory, model
        except (ModelError, OSError) as exc:
            log.warning("model_reload_failed", error=str(exc))
        return self._model
