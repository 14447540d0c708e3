"""``python -m benchmarks``: run every scenario side by side and write ``benchmarks/RESULTS.md``.

Options: ``--quick`` (tiny sizes, for CI; writes nothing unless ``--out`` is given), ``--only NAME``
(repeatable), ``--repeat N`` (default 5; the median is reported) and ``--out PATH``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import traceback
from pathlib import Path
from typing import TYPE_CHECKING

from . import deletion, imports, listing, memory, multiprocess, overhead, overhead_minimal, startup
from ._common import Context, Section, Stopwatch
from ._report import render

if TYPE_CHECKING:
    from collections.abc import Sequence

SCENARIOS = {
    m.NAME: m for m in (overhead, overhead_minimal, listing, deletion, memory, imports, multiprocess, startup)
}
DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def build_parser() -> argparse.ArgumentParser:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny version of every scenario (CI)")
    parser.add_argument(
        "--only", action="append", choices=sorted(SCENARIOS), metavar="NAME", help="run only this scenario"
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; the median is reported")
    parser.add_argument("--out", type=Path, default=None, help="report path (default benchmarks/RESULTS.md)")
    return parser


def _command(argv: Sequence[str]) -> str:
    python = sys.executable
    try:
        relative = os.path.relpath(python)
        if not relative.startswith(".."):
            python = relative if relative.startswith(".") else f"./{relative}"
    except ValueError:
        pass
    return shlex.join([python, "-m", "benchmarks", *argv])


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen scenarios, write the report, return the exit status (1 if a scenario failed)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.repeat < 1:
        build_parser().error("--repeat must be >= 1")
    ctx = Context(quick=args.quick, repeat=args.repeat)
    names = args.only or list(SCENARIOS)
    clock = Stopwatch()
    load_start = os.getloadavg()[0]
    sections: list[Section] = []
    for name, module in SCENARIOS.items():
        if name not in names:
            continue
        print(f"== {module.TITLE} ...", flush=True)
        started = Stopwatch()
        try:
            section = module.run(ctx)
        except Exception:
            section = Section(name, module.TITLE, error=traceback.format_exc(), seconds=started.elapsed)
            print(section.error, file=sys.stderr, flush=True)
        sections.append(section)
        status = (
            "FAILED" if section.error else f"{sum(t.met for t in section.targets)}/{len(section.targets)}"
        )
        print(f"   done in {section.seconds:.1f} s (targets met: {status})", flush=True)
    text = render(
        sections,
        command=_command(argv),
        quick=ctx.quick,
        repeat=ctx.repeat,
        seconds=clock.elapsed,
        load=(load_start, os.getloadavg()[0]),
    )
    out = args.out if args.out is not None else (None if ctx.quick else DEFAULT_OUT)
    if out is None:
        print(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out} in {clock.elapsed:.0f} s")
    return 1 if any(s.error for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
