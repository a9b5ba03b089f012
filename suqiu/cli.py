"""The `suqiu` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from suqiu.dlq import dlq_app
from suqiu.shared.errors import ConfigError
from suqiu.shared.topology import SERVICES

__all__ = ["main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  help="suqiu (诉求): complaint and appeal pipeline.")
RUN_DIR = Path(os.environ.get("SUQIU_RUN_DIR", ".run"))
SERVICES_PACKAGE = "suqiu.services"  # where `suqiu run <service>` finds services/<service>/app.py
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
app.add_typer(dlq_app, name="dlq")


def _version(value: bool) -> None:
    if value:
        from suqiu.shared.resources import suqiu_version

        typer.echo(f"suqiu {suqiu_version()}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
          ) -> None:
    """suqiu (诉求): complaint and appeal pipeline."""


RUNNABLE = (*SERVICES, "console")  # the web console consumes events but owns no pipeline step


@app.command()
def run(service: Annotated[str, typer.Argument(help=" | ".join(RUNNABLE))]) -> None:
    """Run one service in the foreground until SIGTERM."""
    if service not in RUNNABLE:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(RUNNABLE)}")
    import importlib

    from suqiu.shared.logging import configure_logging, get_logger
    from suqiu.shared.settings import CommonSettings
    from suqiu.shared.startup import log_startup_failure

    # JSON logs from the first line on: composition roots log while they build (models...).
    # A bad SUQIU_LOG_LEVEL must not stop the error about it from being logged.
    configure_logging(service, os.environ.get("SUQIU_LOG_LEVEL", "INFO").upper()
                      if os.environ.get("SUQIU_LOG_LEVEL", "INFO").upper() in _LEVELS else "INFO")
    try:
        CommonSettings()
        runtime = importlib.import_module(f"{SERVICES_PACKAGE}.{service}.app").create_runtime()
    except Exception as exc:
        log_startup_failure(get_logger("suqiu.run"), exc)
        raise SystemExit(3) from None
    runtime.serve()


@app.command()
def up(
    replicas: Annotated[list[str] | None, typer.Option(
        help="service=N, e.g. --replicas classifier=2 (repeatable)")] = None,
) -> None:
    """Start the pipeline in the background (PIDs and logs under .run/)."""
    from suqiu.stack import Stack

    state = RUN_DIR / "stack.json"
    if state.exists():
        raise typer.BadParameter(f"{state} exists: run `suqiu down` (make down) first")
    counts = _replica_counts(replicas)
    info = Stack(RUN_DIR, namespace=os.environ.get("SUQIU_NAMESPACE", "suqiu"),
                 mongo_db=os.environ.get("SUQIU_MONGO_DB", "suqiu"), replicas=counts,
                 console=True).start()
    info.save(state)
    typer.echo(f"AMQP_URL={info.amqp_url}")
    typer.echo(f"MONGO_URL={info.mongo_url}")
    typer.echo(f"SUQIU_NAMESPACE={info.namespace}  SUQIU_MONGO_DB={info.mongo_db}")
    for p in info.processes:
        port = f" http://127.0.0.1:{p.port}" if p.port else ""
        typer.echo(f"{p.name:<14} pid {p.pid:<7}{port}  log {p.log}")
    from suqiu.console_demo import announce

    announce(info)


def _replica_counts(replicas: list[str] | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in replicas or []:
        service, _, value = item.partition("=")
        if service not in SERVICES or not value.isdigit() or int(value) < 1:
            raise typer.BadParameter(f"{item!r}: expected service=N with service one of "
                                     f"{', '.join(SERVICES)} and N >= 1", param_hint="--replicas")
        counts[service] = int(value)
    return counts


@app.command()
def down() -> None:
    """Stop what `suqiu up` started: services first (SIGTERM, graceful), then the store."""
    from suqiu.stack import StackInfo, stop_pids

    state = RUN_DIR / "stack.json"
    if not state.exists():
        typer.echo("nothing to stop")
        return
    stop_pids(StackInfo.load(state))
    state.unlink()
    typer.echo("stopped")


@app.command()
def demo(
    count: Annotated[int, typer.Option(help="complaints to publish (>= 20)")] = 24,
    timeout: Annotated[float, typer.Option(help="seconds to wait for dispatch")] = 120.0,
) -> None:
    """Run the whole pipeline on sample complaints and show what happened to each."""
    from suqiu.demo import run_demo

    raise typer.Exit(run_demo(RUN_DIR / "demo", count=count, timeout=timeout))


@app.command()
def bench(
    n: Annotated[int, typer.Option("--n", help="intake messages per phase (and ceiling messages)")
                 ] = 2000,
    rate: Annotated[float, typer.Option(help="publish rate of the paced phase, messages/s")] = 20.0,
    replicas: Annotated[list[str] | None, typer.Option(
        help="service=N for the bench's own stack, e.g. --replicas classifier=2 (repeatable)")
    ] = None,
    use_running: Annotated[bool, typer.Option(
        "--use-running", help="measure the stack of .run/stack.json (`suqiu up`) instead")] = False,
    json_out: Annotated[Path | None, typer.Option(help="also write the figures as JSON")] = None,
    preload: Annotated[int, typer.Option(
        "--preload", help="after the empty-store phases, insert N historical orders over two "
                          "years and run both phases again (docs/benchmark.md)")] = 0,
) -> None:
    """Broker ceiling, then intake->dispatched throughput and latency, paced and at full speed."""
    from suqiu.bench import run_bench

    counts = _replica_counts(replicas)
    if n < 1 or rate <= 0 or preload < 0:
        raise typer.BadParameter("--n must be >= 1, --rate > 0 and --preload >= 0")
    raise typer.Exit(run_bench(RUN_DIR / "bench", RUN_DIR / "stack.json", n=n, rate=rate,
                               replicas=counts, use_running=use_running, json_out=json_out,
                               preload_n=preload))


@app.command("bench-sla")
def bench_sla(
    orders: Annotated[int, typer.Option(help="open orders loaded before the stream")] = 1_000_000,
    due: Annotated[int, typer.Option(help="due timers streamed while the replicas run")] = 3000,
    rate: Annotated[float, typer.Option(help="due timers per second")] = 50.0,
    replicas: Annotated[int, typer.Option(help="SLA monitor replica processes")] = 3,
    batch: Annotated[int, typer.Option(help="insert_many batch of the load")] = 5000,
    scan_interval: Annotated[float, typer.Option(help="scanner interval, seconds")] = 0.25,
    claim_batch: Annotated[int, typer.Option(help="timers claimed per scan")] = 200,
    lease: Annotated[float, typer.Option(help="claim lease, seconds")] = 30.0,
    lead: Annotated[float, typer.Option(help="a streamed timer is due this long after insert")
                    ] = 2.0,
    drain: Annotated[float, typer.Option(help="seconds to wait for the last timers")] = 60.0,
    json_out: Annotated[Path | None, typer.Option(help="also write the figures as JSON")] = None,
) -> None:
    """SLA timers at scale: load open orders, stream due timers, report lag and duplicates."""
    from suqiu.bench_sla import run_bench_sla

    if orders < 0 or due < 1 or rate <= 0 or replicas < 1 or batch < 1:
        raise typer.BadParameter("--orders >= 0, --due >= 1, --rate > 0, --replicas >= 1")
    raise typer.Exit(run_bench_sla(RUN_DIR / "bench-sla", orders=orders, due=due, rate=rate,
                                   replicas=replicas, batch=batch, scan_interval=scan_interval,
                                   claim_batch=claim_batch, lease=lease, lead=lead, drain=drain,
                                   json_out=json_out))


@app.command("store-backfill")
def store_backfill() -> None:
    """Add the precomputed key fields to documents stored before them (run once after an
    upgrade; idempotent; MONGO_URL and SUQIU_MONGO_DB as the services use them)."""
    import asyncio

    from suqiu.inbox_backfill import backfill_inbox
    from suqiu.shared.settings import CommonSettings
    from suqiu.store_keys import backfill

    common = CommonSettings()
    for field, count in asyncio.run(backfill(common.mongo_url, common.mongo_db)).items():
        typer.echo(f"{field}: {count} document(s) updated")
    inbox = asyncio.run(backfill_inbox(common.mongo_url, common.mongo_db))
    typer.echo(f"dispatch_inbox: {inbox} order(s) given their inbox entries")


@app.command("sms-sandbox")
def sms_sandbox(port: Annotated[int, typer.Option()],
                outbox: Annotated[Path, typer.Option()]) -> None:
    """Loopback SMS gateway used by the demo and tests (records, never sends)."""
    from suqiu.sms_sandbox import serve

    serve(port, outbox)


from suqiu.console_demo import register as _register_console_commands  # noqa: E402
from suqiu.ml_cli import register as _register_model_commands  # noqa: E402

_register_console_commands(app, RUN_DIR)

_register_model_commands(app)

from suqiu.calendar_cli import register as _register_calendar_commands  # noqa: E402

_register_calendar_commands(app)

from suqiu.report_cli import register as _register_report_commands  # noqa: E402

_register_report_commands(app)


def main() -> None:
    """Entry point: usage and configuration errors are one line on stderr and exit code 2."""
    from suqiu.shared.startup import as_config_error, one_line

    for noisy in ("aiormq", "aio_pika"):  # their connect failures are reported once, below
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        typer.echo("aborted", err=True)
        raise SystemExit(130) from None
    except Exception as exc:
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):  # click (typer) errors
            ctx = getattr(exc, "ctx", None)
            hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
            _fail(f"{one_line(exc.format_message())}{hint}")
        err = as_config_error(exc) or _unreachable(exc)
        if err is None:
            raise
        _fail(f"{err.source}: {err.problem}")
    raise SystemExit(code if isinstance(code, int) else 0)


def _fail(text: str) -> None:
    typer.echo(f"suqiu: error: {text}", err=True)
    raise SystemExit(2)


def _unreachable(exc: BaseException) -> ConfigError | None:
    """A broker or store that does not answer, named by its setting (never its credentials),
    or a training command without the `train` extra."""
    from suqiu.shared.startup import one_line

    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] == "sklearn":
        return ConfigError("scikit-learn", "not installed; training needs the `train` extra: "
                           "pip install 'suqiu[train]'")
    names = {c.__name__ for c in type(exc).__mro__}
    if names & {"AMQPConnectionError", "ConnectionError", "ConnectionRefusedError", "gaierror"}:
        return ConfigError("AMQP_URL (--amqp-url)", f"broker not reachable: "
                           f"{type(exc).__name__}: {one_line(str(exc))}")
    if names & {"ServerSelectionTimeoutError", "AutoReconnect"}:
        return ConfigError("MONGO_URL", f"store not reachable: {type(exc).__name__}")
    return None


if __name__ == "__main__":
    main()
