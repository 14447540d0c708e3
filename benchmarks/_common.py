"""What every scenario shares: the run context, statistics, child processes and the report model."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from ._fake import ROOT, child_env


@dataclass(frozen=True)
class Context:
    """How a run was asked for.

    Attributes:
        quick: Tiny sizes, one repetition: proves the scenario runs; numbers mean nothing.
        repeat: Repetitions per measurement (the median is reported).
    """

    quick: bool = False
    repeat: int = 5

    def reps(self, cap: int | None = None) -> int:
        """Repetitions for one measurement: 1 in quick mode, else ``repeat`` (at most ``cap``)."""
        if self.quick:
            return 1
        return self.repeat if cap is None else max(1, min(self.repeat, cap))


@dataclass
class Target:
    """One target of an issue and whether this run met it."""

    name: str
    goal: str
    value: str
    met: bool
    cause: str = ""
    """Why it was missed (empty when met)."""


@dataclass
class Section:
    """The result of one scenario, rendered as one part of RESULTS.md."""

    name: str
    title: str
    setup: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    """Further markdown blocks (second tables, profiles)."""
    seconds: float = 0.0
    error: str = ""


def median(values: list[float]) -> float:
    """The median (``nan`` for no values)."""
    return statistics.median(values) if values else float("nan")


def ratio(a: float, b: float) -> float:
    """``a / b``, ``inf`` when ``b`` is 0."""
    return a / b if b else float("inf")


def fmt_x(value: float) -> str:
    """A ratio like ``1.23x``."""
    return f"{value:.2f}x"


def fmt_s(value: float) -> str:
    """Seconds with sensible precision."""
    return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"


def yes(met: bool) -> str:
    """The met/missed marker used in the tables."""
    return "met" if met else "**missed**"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def run_child(args: list[str], *, timeout: float) -> dict[str, Any]:
    """Run ``python <args>`` in a fresh process and return the JSON object on its last stdout line.

    Raises:
        RuntimeError: If it fails or prints no JSON; it is killed after ``timeout`` seconds.
    """
    try:
        done = subprocess.run(
            [sys.executable, *args],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        raise RuntimeError(f"{' '.join(args[:3])} timed out after {timeout:g}s") from exc
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    lines = done.stdout.decode().strip().splitlines()
    if not lines:
        raise RuntimeError(f"{' '.join(args[:3])} printed nothing: {done.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


class Stopwatch:
    """Wall time since creation."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def elapsed(self) -> float:
        """Seconds since creation."""
        return time.perf_counter() - self.start
