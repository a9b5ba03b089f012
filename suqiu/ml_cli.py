"""The model commands: `suqiu classify` and `suqiu classify-bench` here; `train`, `retrain`
and `evaluate` in `suqiu.ml_train`.

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
    from suqiu.shared.catalogue import load_catalogue
    from suqiu.shared.settings import CommonSettings

    return load_catalogue(path or CommonSettings().catalogue_path)


def _model(path: Path | None) -> Any:
    from suqiu.services.classifier.domain.model import ModelError, load_model
    from suqiu.services.classifier.settings import ClassifierSettings

    try:
        return load_model(path or ClassifierSettings().model_path)
    except ModelError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _examples(paths: list[Path]) -> Any:
    from suqiu.services.classifier.training import DataError, load_examples

    try:
        return load_examples(paths)
    except DataError as exc:
        raise typer.BadParameter(str(exc)) from exc


def classify_cmd(
    model_dir: ModelOpt = None,
    no_model: Annotated[bool, typer.Option("--no-model", help="Keyword rules only.")] = False,
    catalogue: CatalogueOpt = None,
) -> None:
    """Read JSON lines {"text", "title"?, "address"?} on stdin, write one verdict per line."""
    from suqiu.services.classifier.domain.classify import analyse

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
                    channel_details=obj.get("channel_details"),
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

    from suqiu.services.classifier.domain.classify import analyse
    from suqiu.services.classifier.domain.model import load_model
    from suqiu.services.classifier.domain.region import national_lookup
    from suqiu.services.classifier.settings import DEFAULT_MODEL_DIR, ClassifierSettings

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
    from suqiu.ml_train import evaluate_cmd, retrain, train

    app.command("train")(train)
    app.command("retrain")(retrain)
    app.command("evaluate")(evaluate_cmd)
    app.command("classify")(classify_cmd)
    app.command("classify-bench")(bench_cmd)
