"""Tables of the model commands: per-class quality, calibration, coverage, the promotion gate."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from suqiu.ml_cli import out

__all__ = ["print_comparison", "print_confidence", "print_report"]


def print_report(title: str, reports: dict[str, Any], confusion: bool = True) -> None:
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
        if confusion and len(r.labels) <= 40:
            out.print(f"{head} confusion (rows gold, columns predicted, by #):")
            width = max(3, len(str(max((max(row) for row in r.confusion), default=0))) + 1)
            out.print("   #" + "".join(f"{i:>{width}}" for i in range(len(r.labels))),
                      highlight=False)
            for i, row in enumerate(r.confusion):
                cells = "".join(f"{(str(v) if v else '.'):>{width}}" for v in row)
                out.print(f"{i:>4}{cells}", highlight=False)


def print_confidence(reports: dict[str, Any]) -> None:
    """Reliability table with the expected calibration error, and coverage / precision by
    threshold (coverage: share routed without triage; precision: share of those right)."""
    for head, r in reports.items():
        cal = r.calibration
        if cal is None:
            continue
        out.rule(f"{head}: calibration")
        out.print(f"expected calibration error (10 bins) {cal.ece:.3f}; mean confidence "
                  f"{cal.mean_confidence:.3f} for accuracy {cal.accuracy:.3f} (n={cal.n})")
        table = Table(show_edge=False, pad_edge=False)
        for col in ("confidence", "n", "mean confidence", "accuracy", "gap"):
            table.add_column(col, justify="right")
        for b in cal.bins:
            table.add_row(f"{b.lo:.1f}-{b.hi:.1f}", str(b.n), f"{b.mean_confidence:.3f}",
                          f"{b.accuracy:.3f}", f"{b.accuracy - b.mean_confidence:+.3f}")
        out.print(table)
        table = Table(title=f"{head}: coverage and precision by threshold", show_edge=False,
                      pad_edge=False)
        for col in ("threshold", "routed", "coverage", "precision", "to triage"):
            table.add_column(col, justify="right")
        for row in r.coverage:
            table.add_row(f"{row.threshold:.2f}", str(row.n), f"{row.coverage:.3f}",
                          f"{row.precision:.3f}", f"{1 - row.coverage:.3f}")
        out.print(table)


def print_comparison(cand: Any) -> None:
    """The promotion gate: current vs new model on the same held-out examples."""
    cmp = cand.comparison
    out.rule("promotion: the same held-out examples, service path, macro-F1")
    table = Table(show_edge=False, pad_edge=False)
    for col in ("head", "current", "new"):
        table.add_column(col, justify="right")
    for head, (cur, new) in cmp.heads.items():
        table.add_row(head, "-" if cur is None else f"{cur:.4f}", f"{new:.4f}")
    table.add_row("score", "-" if cmp.current is None else f"{cmp.current:.4f}", f"{cmp.new:.4f}")
    out.print(table)
    out.print(f"{'PROMOTED' if cmp.promoted else 'NOT PROMOTED'}: {cmp.reason}")
    if cand.thresholds:
        out.print("thresholds for target precision "
                  f"{cand.thresholds.get('target_precision')}: "
                  + ", ".join(f"{k}={v}" for k, v in cand.thresholds.items()
                              if k in ("category", "department")))
