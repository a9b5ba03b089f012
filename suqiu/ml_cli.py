"""`suqiu train`, `suqiu evaluate`, `suqiu classify` and `suqiu classify-bench`.

Progress goes to stderr, results to stdout, so `suqiu classify < in.jsonl > out.jsonl` works.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

__all__ = ["register"]

out = Console()
err = Console(stderr=True)

DataOpt = Annotated[list[Path], typer.Option(
    "--data", help="JSONL file or a directory of *.jsonl (repeatable).")]
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", help="Model directory, or a models root with LATEST (default: the shipped model).")]
CatalogueOpt = Annotated[Path | None, typer.Option(
    "--catalogue", help="Catalogue YAML (default: SUQIU_CATALOGUE_PATH or the shipped one).")]


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, transient=False)


def _catalogue(path: Path | None) -> Any:
    from shared.catalogue import load_catalogue
    from shared.settings import CommonSettings

    return load_catalogue(path or CommonSettings().catalogue_path)


def _model(path: Path | None) -> Any:
    from services.classifier.domain.model import ModelError, load_model
    from services.classifier.settings import ClassifierSettings

    try:
        return load_model(path or ClassifierSettings().model_path)
    except ModelError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _examples(paths: list[Path]) -> Any:
    from services.classifier.training import DataError, load_examples

    try:
        return load_examples(paths)
    except DataError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _print_report(title: str, reports: dict[str, Any], confusion: bool = True) -> None:
    out.rule(title)
    for head, r in reports.items():
        line = f"[bold]{head}[/bold]: n={r.n} accuracy={r.accuracy:.3f} macro-F1={r.macro_f1:.3f}"
        if r.top3 is not None:
            line += f" top-1={r.accuracy:.3f} top-3={r.top3:.3f}"
        out.print(line)
        if head == "subcategory":
            continue
        table = Table(show_edge=False, pad_edge=False)
        for col in ("#", head, "precision", "recall", "F1", "support"):
            table.add_column(col, justify="left" if col == head else "right")
        for i, (label, p, rc, f, s) in enumerate(r.per_class):
            table.add_row(str(i), label, f"{p:.2f}", f"{rc:.2f}", f"{f:.2f}", str(s))
        out.print(table)
        if confusion:
            out.print(f"{head} confusion (rows gold, columns predicted, by #):")
            width = max(3, len(str(max((max(row) for row in r.confusion), default=0))) + 1)
            out.print("   #" + "".join(f"{i:>{width}}" for i in range(len(r.labels))),
                      highlight=False)
            for i, row in enumerate(r.confusion):
                cells = "".join(f"{(str(v) if v else '.'):>{width}}" for v in row)
                out.print(f"{i:>4}{cells}", highlight=False)


def _history(limit: int) -> Any:
    import asyncio

    from services.classifier.repository import labelled_history
    from services.classifier.training import examples_from_rows
    from shared.settings import CommonSettings
    from shared.store import Store

    common = CommonSettings()

    async def read() -> list[dict[str, Any]]:
        store = Store(common.mongo_url, common.mongo_db)
        try:
            return await labelled_history(store, limit)
        finally:
            await store.close()

    return examples_from_rows(asyncio.run(read()), "history")


def train(
    out_dir: Annotated[Path, typer.Option("--out", help="Models root: writes <root>/<version>/ "
                                          "and points <root>/LATEST at it.")],
    holdout: Annotated[float, typer.Option(help="Share held out for the evaluation.")] = 0.2,
    seed: Annotated[int, typer.Option(help="Seed of the held-out split.")] = 13,
    c: Annotated[float, typer.Option("--c", help="Inverse regularisation of the linear heads.")
                 ] = 1.0,
    max_features: Annotated[int, typer.Option(help="Vocabulary size (model size).")] = 20000,
    refit: Annotated[bool, typer.Option(help="After the evaluation, refit on all the data.")
                     ] = True,
    catalogue: CatalogueOpt = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write the evaluation as JSON.")
                        ] = None,
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="JSONL file or a directory of *.jsonl (repeatable).")] = None,
    from_history: Annotated[bool, typer.Option(
        "--from-history", help="Also learn from handled work orders in MongoDB (MONGO_URL, "
        "SUQIU_MONGO_DB): their category and the department they were finally dispatched to."
    )] = False,
    history_limit: Annotated[int, typer.Option(help="At most this many work orders.")
                             ] = 100_000,
) -> None:
    """Train the category / subcategory / department model from labelled JSON lines."""
    from services.classifier.training import evaluate, fit_model, publish, stratified_split

    if not 0 <= holdout < 1:
        raise typer.BadParameter("--holdout must be in [0, 1)")
    if not data and not from_history:
        raise typer.BadParameter("give --data and/or --from-history")
    examples = _examples(data) if data else []
    if from_history:
        examples += _history(history_limit)
    data = data or [Path("mongo:history")]
    cat = _catalogue(catalogue)
    err.print(f"{len(examples)} examples from {', '.join(map(str, data))}")
    train_set, test_set = stratified_split(examples, holdout, seed)
    meta = {"sources": [str(p) for p in data], "holdout": holdout, "seed": seed,
            "catalogue_profile": cat.profile}
    steps = ["features", "head category", "head subcategory", "head department"]
    evaluation: dict[str, Any] = {}
    with _progress() as bar:
        task = bar.add_task("training", total=len(steps) * (2 if refit and test_set else 1))

        def step(msg: str) -> None:
            bar.update(task, advance=1.0 if msg.startswith("features") else 0.5,
                       description=msg[:60])

        t0 = time.perf_counter()
        model = fit_model(train_set, c=c, max_features=max_features, progress=step, meta=meta)
        fit_seconds = time.perf_counter() - t0
        if test_set:
            ev = bar.add_task("held-out evaluation", total=len(test_set) * 2)
            model_only = evaluate(model, test_set, None,
                                  progress=lambda n: bar.update(ev, completed=n))
            service = evaluate(model, test_set, cat,
                               progress=lambda n: bar.update(ev, completed=len(test_set) + n))
            evaluation = {"n_train": len(train_set), "n_test": len(test_set),
                          "model_only": {k: v.as_dict() for k, v in model_only.items()},
                          "rules_then_model": {k: v.as_dict() for k, v in service.items()}}
        if refit and test_set:
            model = fit_model(examples, c=c, max_features=max_features, progress=step,
                              meta={**meta, "refit_on_all": True})
        bar.update(task, completed=bar.tasks[task].total)
    if test_set:
        _print_report(f"held-out ({len(test_set)} of {len(examples)}): model alone",
                      model_only, confusion=False)
        _print_report("held-out: keyword rules with precedence, then the model (service path)",
                      service)
    model = type(model)(model.vocabulary, model.idf, model.heads,
                        {**model.meta, "evaluation": evaluation,
                         "fit_seconds": round(fit_seconds, 2)})
    directory = publish(model, out_dir)
    size = sum(f.stat().st_size for f in directory.iterdir())
    out.print(f"model {directory.name} written to {directory} ({size / 1e6:.2f} MB); "
              f"{out_dir / 'LATEST'} points at it")
    if json_out:
        json_out.write_text(json.dumps({"version": directory.name, **evaluation},
                                       ensure_ascii=False, indent=2), encoding="utf-8")


def evaluate_cmd(
    data: DataOpt,
    model_dir: ModelOpt = None,
    rules: Annotated[bool, typer.Option(help="Apply the catalogue's keyword rules first, as the "
                                        "service does (--no-rules: the model alone).")] = True,
    catalogue: CatalogueOpt = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write the figures as JSON.")
                        ] = None,
) -> None:
    """Accuracy, macro-F1, per-class P/R/F1, confusion matrix, department top-1/top-3."""
    from services.classifier.training import evaluate

    examples = _examples(data)
    model = _model(model_dir)
    cat = _catalogue(catalogue) if rules else None
    with _progress() as bar:
        task = bar.add_task("evaluating", total=len(examples))
        reports = evaluate(model, examples, cat, progress=lambda n: bar.update(task, completed=n))
    _print_report(f"{len(examples)} examples, model {model.version}, "
                  f"{'rules then model' if rules else 'model alone'}", reports)
    if json_out:
        json_out.write_text(json.dumps({k: v.as_dict() for k, v in reports.items()},
                                       ensure_ascii=False, indent=2), encoding="utf-8")


def classify_cmd(
    model_dir: ModelOpt = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Keyword rules only.")] = False,
    catalogue: CatalogueOpt = None,
) -> None:
    """Read JSON lines {"text", "title"?, "address"?} on stdin, write one verdict per line."""
    from services.classifier.domain.classify import analyse

    cat = _catalogue(catalogue)
    model = None if no_model else _model(model_dir)
    failures = 0
    with _progress() as bar:
        task = bar.add_task("classifying", total=None)
        for n, line in enumerate(sys.stdin, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                text = obj["text"]
                if not isinstance(text, str):
                    raise TypeError("text must be a string")
                result: dict[str, Any] = analyse(
                    text, cat, model, title=obj.get("title"), address=obj.get("address"),
                ).as_json()
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                failures += 1
                result = {"error": f"line {n}: {type(exc).__name__}: {exc}"}
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            bar.update(task, advance=1)
    sys.stdout.flush()
    if failures:
        raise typer.Exit(1)


def bench_cmd(
    data: Annotated[list[Path] | None, typer.Option(
        "--data", help="Texts to classify (default: the bundled corpus).")] = None,
    n: Annotated[int, typer.Option("--n", help="Texts to classify (the data is cycled).")] = 3000,
    model_dir: ModelOpt = None,
    catalogue: CatalogueOpt = None,
) -> None:
    """One process: model load time, texts/s and latency percentiles of the service's path."""
    import statistics

    from services.classifier.domain.classify import analyse
    from services.classifier.domain.model import load_model
    from services.classifier.domain.region import national_lookup
    from services.classifier.settings import DEFAULT_MODEL_DIR, ClassifierSettings

    corpus = data or [DEFAULT_MODEL_DIR.parent / "corpus"]
    examples = _examples(corpus)
    cat = _catalogue(catalogue)
    t0 = time.perf_counter()
    model = load_model(model_dir or ClassifierSettings().model_path)
    load_s = time.perf_counter() - t0
    national_lookup("广东省广州市天河区")  # first-call costs (OpenCC, the national gazetteer)
    analyse("预热", cat, model)
    latencies: list[float] = []
    with _progress() as bar:
        task = bar.add_task("classifying", total=n)
        start = time.perf_counter()
        for i in range(n):
            ex = examples[i % len(examples)]
            t = time.perf_counter()
            analyse(ex.text, cat, model, title=ex.title)
            latencies.append(time.perf_counter() - t)
            if i % 50 == 0:
                bar.update(task, completed=i + 1)
        total = time.perf_counter() - start
        bar.update(task, completed=n)
    latencies.sort()
    q = statistics.quantiles(latencies, n=100)
    figures = {"texts": n, "model_version": model.version, "model_load_s": round(load_s, 3),
               "texts_per_s": round(n / total, 1), "p50_ms": round(q[49] * 1000, 2),
               "p99_ms": round(q[98] * 1000, 2), "max_ms": round(latencies[-1] * 1000, 2)}
    out.print_json(json.dumps(figures))


def register(app: typer.Typer) -> None:
    """Add the model commands to the `suqiu` CLI."""
    app.command("train")(train)
    app.command("evaluate")(evaluate_cmd)
    app.command("classify")(classify_cmd)
    app.command("classify-bench")(bench_cmd)
