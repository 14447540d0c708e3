"""``docr watch``: print registry events as they happen, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from pathlib import Path  # noqa: TC003 -- typer reads the annotations at runtime
from typing import TYPE_CHECKING, Annotated

import typer

from ..exceptions import ValidationError
from ._common import OutputOpt, RegistryNameArg, cli
from ._output import short_digest

if TYPE_CHECKING:
    from .._client import DOCRClient
    from ..watch import PollStats, Watcher, WatchEvent
    from ._common import Cli

__all__ = ["event_line", "watch_command"]


def event_line(event: WatchEvent) -> str:
    """One event as a line of text: time, kind, ``repository[:tag]`` and the digest or details."""
    when = event.occurred_at or event.observed_at
    parts = [when.isoformat() if when else "-", event.kind]
    data = event.to_json()
    target = event.repository or event.registry
    if data.get("tag"):
        target += f":{data['tag']}"
    parts.append(target)
    if data.get("digest"):
        parts.append(short_digest(data["digest"]))
    for name in ("previous_digest", "uuid", "status", "freed_bytes", "storage_usage_bytes"):
        if data.get(name) is not None:
            value = data[name]
            parts.append(f"{name}={short_digest(value) if name == 'previous_digest' else value}")
    return " ".join(parts)


def _save(path: Path, watcher: Watcher) -> None:
    state = watcher.state
    if state is None:
        return
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state.to_json()))
    os.replace(temporary, path)


def _load(path: Path | None) -> dict[str, object] | None:
    if path is None or not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError("--state", str(path), f"cannot read a saved state: {exc}") from None
    if not isinstance(data, dict):
        raise ValidationError("--state", str(path), "not a saved watch state")
    return data


async def _print_events(c: Cli, watcher: Watcher, state: Path | None) -> None:
    async for event in watcher:
        c.out.emit_text(json.dumps(event.to_json()) if c.out.json else event_line(event))
        if state is not None:
            _save(state, watcher)


def watch_command(
    ctx: typer.Context,
    *,
    registry: RegistryNameArg = None,
    interval: Annotated[
        float | None,
        typer.Option("--interval", min=0.01, help="Seconds between polls (default: derived from --budget)."),
    ] = None,
    budget: Annotated[
        float,
        typer.Option("--budget", min=0.001, max=1.0, help="Share of the hourly request limit to spend."),
    ] = 0.1,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state", help="Resume from this file and keep it up to date (a restart re-announces nothing)."
        ),
    ] = None,
    replay: Annotated[bool, typer.Option("--replay", help="Report what exists at the start too.")] = False,
    output: OutputOpt = None,
) -> None:
    """Print registry events (pushes, moved and deleted tags, GCs, storage) until Ctrl-C or SIGTERM.

    One line per event (one JSON object per line with -o json). Ctrl-C or SIGTERM exits 0.
    The first run reports nothing until something changes (unless --replay).
    """
    c = cli(ctx, output)
    since = c.check(lambda: _load(state))

    async def work(client: DOCRClient) -> None:
        polls = 0

        def polled(stats: PollStats) -> None:
            nonlocal polls
            polls += 1
            if polls == 1:
                c.out.info(
                    f"watching {watcher.state.registry if watcher.state else registry}; Ctrl-C to stop"
                )
            if state is not None:
                _save(state, watcher)

        watcher = c.check(
            lambda: client.watch(
                registry, interval=interval, budget=budget, since=since, replay=replay, on_poll=polled
            )
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            async with watcher:
                printer = asyncio.ensure_future(_print_events(c, watcher, state))
                stopped = asyncio.ensure_future(stop.wait())
                try:
                    await asyncio.wait((printer, stopped), return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (printer, stopped):
                        task.cancel()
                    await asyncio.wait((printer, stopped))
                if not printer.cancelled():
                    printer.result()  # an error ends the watch with its exit code
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(ValueError, RuntimeError):
                    loop.remove_signal_handler(sig)
        c.out.info("stopped")

    c.run(work)
