"""Scenario 5: import time of docr_async, aiohttp and pydo.aio, each in fresh interpreters."""

from __future__ import annotations

import subprocess
import sys

from ._common import Context, Section, Stopwatch, fmt_x, median, ratio, run_child, table
from ._fake import ROOT, child_env

NAME = "imports"
TITLE = "5. Import time"
MODULES = ("aiohttp", "docr_async", "pydo.aio")
_SNIPPET = (
    "import json, sys, time; t = time.perf_counter(); import {module}; "
    "print(json.dumps({{'seconds': time.perf_counter() - t, 'modules': len(sys.modules)}}))"
)


def run(ctx: Context) -> Section:
    """Run the scenario and return its report section."""
    clock = Stopwatch()
    runs = 1 if ctx.quick else max(ctx.repeat, 7)
    samples: dict[str, list[dict[str, float]]] = {m: [] for m in MODULES}
    for module in MODULES:  # one unrecorded run each, so bytecode caches are warm for everyone
        run_child(["-c", _SNIPPET.format(module=module)], timeout=120)
    for _ in range(runs):
        for module in MODULES:
            samples[module].append(run_child(["-c", _SNIPPET.format(module=module)], timeout=120))

    section = Section(NAME, TITLE)
    section.setup = [
        f"Each import runs in a fresh `python -c` process, {runs} time(s), interleaved, after one "
        "unrecorded warm-up run each (warm `.pyc` caches); the time is measured around the import "
        "statement only (interpreter start-up excluded). Median reported.",
        "`import docr_async` includes importing aiohttp, attrs and cattrs, which it depends on.",
    ]
    section.headers = ["import", "median time", "vs aiohttp", "modules loaded"]
    base = median([r["seconds"] for r in samples["aiohttp"]])
    for module in MODULES:
        seconds = median([r["seconds"] for r in samples[module]])
        section.rows.append(
            [
                f"`import {module}`",
                f"{seconds * 1000:.0f} ms",
                fmt_x(ratio(seconds, base)),
                f"{median([r['modules'] for r in samples[module]]):.0f}",
            ]
        )
    docr = median([r["seconds"] for r in samples["docr_async"]])
    official = median([r["seconds"] for r in samples["pydo.aio"]])
    section.extra.append(_breakdown(runs))
    section.notes = [
        f"No target. docr-async adds {max(docr - base, 0) * 1000:.0f} ms on top of aiohttp; "
        f"pydo.aio takes {fmt_x(ratio(official, docr))} as long as docr-async."
    ]
    section.seconds = clock.elapsed
    return section


def _importtime(module: str) -> dict[str, int]:
    """Self time in microseconds of every module ``import module`` loads (``python -X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=True,
    )
    out: dict[str, int] = {}
    for line in done.stderr.decode().splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            out[parts[2].strip()] = int(parts[0])
    return out


def _breakdown(runs: int) -> str:
    """Markdown: what ``import docr_async`` loads beyond aiohttp, and its self time per package."""
    base = set(_importtime("aiohttp"))
    samples = [_importtime("docr_async") for _ in range(runs)]
    extra = {name for sample in samples for name in sample} - base
    per_module = {name: median([s.get(name, 0) / 1000 for s in samples]) for name in extra}
    per_package: dict[str, list[float]] = {}
    for name, ms in per_module.items():
        top = name.split(".")[0]
        per_package.setdefault(top, []).append(ms)
    rows = [
        [f"`{pkg}`", str(len(times)), f"{sum(times):.1f}"]
        for pkg, times in sorted(per_package.items(), key=lambda kv: -sum(kv[1]))
    ]
    slowest = sorted(per_module.items(), key=lambda kv: -kv[1])[:8]
    return (
        f"**Where `import docr_async` spends its time beyond aiohttp** (`python -X importtime`, "
        f"median self time of {runs} run(s), modules that `import aiohttp` does not load):\n\n"
        + table(["package", "modules", "self ms"], rows)
        + "\n\nSlowest modules: "
        + ", ".join(f"`{name}` {ms:.1f} ms" for name, ms in slowest)
        + "."
    )
