"""The `suqiu` command."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from shared.topology import SERVICES
from suqiu.dlq import dlq_app

__all__ = ["main"]

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="suqiu (诉求): complaint and appeal pipeline.")
RUN_DIR = Path(os.environ.get("SUQIU_RUN_DIR", ".run"))
app.add_typer(dlq_app, name="dlq")


@app.command()
def run(service: Annotated[str, typer.Argument(help=" | ".join(SERVICES))]) -> None:
    """Run one service in the foreground until SIGTERM."""
    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(SERVICES)}")
    from shared.logging import configure_logging
    from shared.settings import CommonSettings

    # JSON logs from the first line on: composition roots log while they build (models...).
    configure_logging(service, CommonSettings().log_level)
    module = __import__(f"services.{service}.app", fromlist=["create_runtime"])
    module.create_runtime().serve()


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
    counts = {k: int(v) for k, v in (r.split("=", 1) for r in replicas or [])}
    info = Stack(RUN_DIR, namespace=os.environ.get("SUQIU_NAMESPACE", "suqiu"),
                 mongo_db=os.environ.get("SUQIU_MONGO_DB", "suqiu"), replicas=counts).start()
    info.save(state)
    typer.echo(f"AMQP_URL={info.amqp_url}")
    typer.echo(f"MONGO_URL={info.mongo_url}")
    typer.echo(f"SUQIU_NAMESPACE={info.namespace}  SUQIU_MONGO_DB={info.mongo_db}")
    for p in info.processes:
        port = f" http://127.0.0.1:{p.port}" if p.port else ""
        typer.echo(f"{p.name:<14} pid {p.pid:<7}{port}  log {p.log}")


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
    rate: Annotated[float, typer.Option(help="publish rate of the paced phase, messages/s")] = 100.0,
    replicas: Annotated[list[str] | None, typer.Option(
        help="service=N for the bench's own stack, e.g. --replicas classifier=2 (repeatable)")
    ] = None,
    use_running: Annotated[bool, typer.Option(
        "--use-running", help="measure the stack of .run/stack.json (`suqiu up`) instead")] = False,
    json_out: Annotated[Path | None, typer.Option(help="also write the figures as JSON")] = None,
) -> None:
    """Broker ceiling, then intake->dispatched throughput and latency, paced and at full speed."""
    from suqiu.bench import run_bench

    counts: dict[str, int] = {}
    for item in replicas or []:
        service, _, value = item.partition("=")
        if service not in SERVICES or not value.isdigit() or int(value) < 1:
            raise typer.BadParameter(f"{item!r}: expected service=N with service one of "
                                     f"{', '.join(SERVICES)} and N >= 1")
        counts[service] = int(value)
    if n < 1 or rate <= 0:
        raise typer.BadParameter("--n must be >= 1 and --rate > 0")
    raise typer.Exit(run_bench(RUN_DIR / "bench", RUN_DIR / "stack.json", n=n, rate=rate,
                               replicas=counts, use_running=use_running, json_out=json_out))


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


@app.command("sms-sandbox")
def sms_sandbox(port: Annotated[int, typer.Option()],
                outbox: Annotated[Path, typer.Option()]) -> None:
    """Loopback SMS gateway used by the demo and tests (records, never sends)."""
    from suqiu.sms_sandbox import serve

    serve(port, outbox)


from suqiu.ml_cli import register as _register_model_commands  # noqa: E402

_register_model_commands(app)

from suqiu.report_cli import register as _register_report_commands  # noqa: E402

_register_report_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
