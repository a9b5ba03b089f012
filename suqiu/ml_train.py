"""`suqiu train`, `suqiu retrain` and `suqiu evaluate`: fit, gate, publish, measure.

Progress and tables go to stderr / stdout through rich; `--json-out` writes the figures.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from suqiu.ml_cli import CatalogueOpt, DataOpt, ModelOpt, _catalogue, _examples, _model, err, out
from suqiu.ml_report import print_comparison, print_confidence, print_report

__all__ = ["evaluate_cmd", "retrain", "train"]


def _history(since: datetime, until: datetime, limit: int, corrections_only: bool) -> Any:
    """Human-confirmed labels decided in [since, until) from the `labels` collection."""
    import asyncio

    from suqiu.services.classifier.domain.labels import training_rows
    from suqiu.services.classifier.repository import Labels
    from suqiu.services.classifier.training import examples_from_rows
    from suqiu.shared.settings import CommonSettings
    from suqiu.shared.store import Store

    common = CommonSettings()

    async def read() -> list[Any]:
        store = Store(common.mongo_url, common.mongo_db)
        try:
            return await Labels(store).window(since, until, limit)
        finally:
            await store.close()

    rows = training_rows(asyncio.run(read()), corrections_only=corrections_only)
    return examples_from_rows(rows, "labels")


def _current(out_dir: Path, baseline: Path | None) -> Any:
    from suqiu.services.classifier.domain.model import ModelError, load_model

    if baseline is not None:
        return _model(baseline)
    try:
        return load_model(out_dir) if (out_dir / "LATEST").is_file() else None
    except ModelError as exc:
        err.print(f"current model in {out_dir} unreadable ({exc}): comparing with none")
        return None


def run(*, out_dir: Path, data: list[Path] | None, from_history: bool, since: datetime | None,
        until: datetime | None, history_limit: int, corrections_only: bool, catalogue: Path | None,
        options: Any, baseline: Path | None, json_out: Path | None, min_examples: int = 0,
        ) -> bool:
    """Train, compare with the current model, publish if promoted; True when published."""
    from suqiu.services.classifier.retraining import train_candidate
    from suqiu.services.classifier.training import publish

    if not data and not from_history:
        raise typer.BadParameter("give --data and/or --from-history")
    examples = _examples(data) if data else []
    sources = [str(p) for p in data or []]
    if from_history:
        until = until or datetime.now(UTC)
        since = since or datetime(1970, 1, 1, tzinfo=UTC)
        history = _history(since, until, history_limit, corrections_only)
        err.print(f"{len(history)} human-confirmed labels decided in "
                  f"[{since.isoformat(timespec='seconds')}, {until.isoformat(timespec='seconds')})")
        examples += history
        sources.append(f"labels[{since.isoformat(timespec='seconds')},"
                       f"{until.isoformat(timespec='seconds')})")
        if len(history) < min_examples:
            err.print(f"fewer than {min_examples} labels: nothing trained")
            return False
    if not examples:
        raise typer.BadParameter("no examples to train on")
    cat = _catalogue(catalogue)
    current = _current(out_dir, baseline)
    err.print(f"{len(examples)} examples; current model: "
              f"{current.version if current is not None else 'none'}")
    meta = {"sources": sources, "catalogue_profile": cat.profile}
    t0 = time.perf_counter()
    with err.status("training") as status:
        cand = train_candidate(examples, cat, current, options, meta,
                               progress=lambda m: status.update(m[:70]))
    seconds = round(time.perf_counter() - t0, 2)
    if cand.n_test:
        print_report(f"held-out ({cand.n_test} of {len(examples)}): model alone",
                     cand.model_only, confusion=False)
        print_report("held-out: keyword rules with precedence, then the model (service path)",
                     cand.service)
        print_confidence(cand.service)
    print_comparison(cand)
    model = cand.model
    model = type(model)(model.vocabulary, model.idf, model.heads,
                        {**model.meta, "train_seconds": seconds})
    directory = publish(model, out_dir) if cand.promoted else None
    if directory is not None:
        size = sum(f.stat().st_size for f in directory.iterdir())
        out.print(f"model {directory.name} written to {directory} ({size / 1e6:.2f} MB); "
                  f"{out_dir / 'LATEST'} points at it")
    else:
        out.print(f"not promoted: {cand.comparison.reason}; {out_dir / 'LATEST'} unchanged")
    if json_out:
        json_out.write_text(json.dumps(
            {"version": directory.name if directory else None, **cand.evaluation(),
             "promotion": model.meta.get("promotion"), "thresholds": cand.thresholds},
            ensure_ascii=False, indent=2), encoding="utf-8")
    return directory is not None


def _options(holdout: float, seed: int, c: float, max_features: int, refit: bool,
             target_precision: float | None, min_gain: float, force: bool) -> Any:
    from suqiu.services.classifier.retraining import RunOptions

    if not 0 <= holdout < 1:
        raise typer.BadParameter("--holdout must be in [0, 1)")
    if target_precision is not None and not 0 < target_precision <= 1:
        raise typer.BadParameter("--target-precision must be in (0, 1]")
    return RunOptions(holdout, seed, c, max_features, refit, target_precision, min_gain, force)


OutOpt = Annotated[Path, typer.Option("--out", help="Models root: writes <root>/<version>/ and "
                                      "points <root>/LATEST at it (only when promoted).")]
TargetOpt = Annotated[float | None, typer.Option(
    help="Choose the triage thresholds that reach this precision on the held-out data and "
         "store them with the model (the service reads them from there).")]
MinGainOpt = Annotated[float, typer.Option(
    help="Promote only if the held-out score beats the current model's by more than this.")]
ForceOpt = Annotated[bool, typer.Option(help="Promote even if not better than the current model.")]
BaselineOpt = Annotated[Path | None, typer.Option(
    help="Compare with this model (default: the one <out>/LATEST names).")]
JsonOpt = Annotated[Path | None, typer.Option(help="Also write the evaluation as JSON.")]


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        d = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO date or time: {value!r}") from exc
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def train(
    out_dir: OutOpt,
    holdout: Annotated[float, typer.Option(help="Share held out for the evaluation.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split.")] = 13,
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation of the linear heads.")
                 ] = 1.0,
    max_features: Annotated[int, typer.Option(help="Vocabulary size (model size).")] = 20000,
    refit: Annotated[bool, typer.Option(help="After the evaluation, refit on all the data.")
                     ] = True,
    catalogue: CatalogueOpt = None,
    json_out: JsonOpt = None,
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="JSONL file or a directory of *.jsonl (repeatable).")] = None,
    from_history: Annotated[bool, typer.Option(
        "--from-history", help="Also learn from the labels people decided (collection `labels`: "
        "re-categorised orders, departments that accepted an order) in MongoDB.")] = False,
    since: Annotated[str | None, typer.Option(help="History window start (ISO date/time).")
                     ] = None,
    until: Annotated[str | None, typer.Option(help="History window end, exclusive (default: now).")
                     ] = None,
    corrections_only: Annotated[bool, typer.Option(
        help="Only labels where a person changed the classifier's verdict.")] = False,
    history_limit: Annotated[int, typer.Option(help="At most this many labels.")] = 100_000,
    target_precision: TargetOpt = None,
    min_gain: MinGainOpt = 0.0,
    force: ForceOpt = False,
    baseline: BaselineOpt = None,
) -> None:
    """Train the category / subcategory / department model; publish it if it beats the current."""
    opts = _options(holdout, seed, c, max_features, refit, target_precision, min_gain, force)
    run(out_dir=out_dir, data=data, from_history=from_history, since=_when(since),
        until=_when(until), history_limit=history_limit, corrections_only=corrections_only,
        catalogue=catalogue, options=opts, baseline=baseline, json_out=json_out)


def retrain(
    out_dir: OutOpt,
    days: Annotated[int, typer.Option(help="Learn from the labels of the last N days.")] = 180,
    min_labels: Annotated[int, typer.Option(help="Do nothing with fewer labels than this.")
                          ] = 200,
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="Also train on these files (e.g. the shipped corpus).")] = None,
    catalogue: CatalogueOpt = None,
    target_precision: TargetOpt = None,
    min_gain: MinGainOpt = 0.0,
    json_out: JsonOpt = None,
) -> None:
    """Unattended retraining for cron / a Kubernetes CronJob: the labels of the last N days,
    promoted only if better than the current model on the same held-out labels."""
    now = datetime.now(UTC)
    opts = _options(0.2, 13, 1.0, 20000, True, target_precision, min_gain, False)
    promoted = run(out_dir=out_dir, data=data, from_history=True, since=now - timedelta(days=days),
                   until=now, history_limit=100_000, corrections_only=False, catalogue=catalogue,
                   options=opts, baseline=None, json_out=json_out, min_examples=min_labels)
    err.print(json.dumps({"event": "retrain_done", "promoted": promoted,
                          "at": now.isoformat(timespec="seconds")}))


def evaluate_cmd(
    data: DataOpt,
    model_dir: ModelOpt = None,
    rules: Annotated[bool, typer.Option(help="Apply the catalogue's keyword rules first, as the "
                                        "service does (--no-rules: the model alone).")] = True,
    catalogue: CatalogueOpt = None,
    json_out: JsonOpt = None,
) -> None:
    """Accuracy, macro-F1, per-class P/R/F1, confusion, department top-1/top-3, calibration
    (expected calibration error, reliability table) and coverage / precision by threshold."""
    from suqiu.services.classifier.evaluation import evaluate

    examples = _examples(data)
    model = _model(model_dir)
    cat = _catalogue(catalogue) if rules else None
    with err.status("evaluating"):
        reports = evaluate(model, examples, cat)
    print_report(f"{len(examples)} examples, model {model.version}, "
                 f"{'rules then model' if rules else 'model alone'}", reports)
    print_confidence(reports)
    stored = model.meta.get("thresholds")
    if stored:
        table = Table(title="thresholds stored with the model", show_edge=False)
        for k in stored:
            table.add_column(k)
        table.add_row(*(str(v) for v in stored.values()))
        out.print(table)
    if json_out:
        json_out.write_text(json.dumps({k: v.as_dict() for k, v in reports.items()},
                                       ensure_ascii=False, indent=2), encoding="utf-8")
