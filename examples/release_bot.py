"""A release bot: announce every new release tag of a registry, once, also across restarts.

Run it (against an embedded fake registry unless ``DIGITALOCEAN_TOKEN`` is set)::

    python examples/release_bot.py --replay --polls 1

Without ``--polls`` it watches until SIGTERM or Ctrl-C. It uses ``client.watch()``: the repository
listing shows which repositories changed, only those are read, and the default interval keeps the
bot at about 10% of the account's hourly request budget (the rest is for cleanup jobs and apps).
The state file (``--state``, default ``release_bot.state.json``) is written after each
announcement, so a restarted bot announces nothing twice. ``announce()`` prints; replace it with a
chat webhook call.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import signal
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _target import open_target

from docr_async.watch import PollStats, TagMoved, TagPushed, WatchEvent

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from _target import TargetFactory

    from docr_async import DOCRClient

logger = logging.getLogger("release_bot")

RELEASE = r"v?\d+\.\d+\.\d+"
"""Release tags: ``1.2.3`` or ``v1.2.3`` (no pre-releases)."""


def announce(event: TagPushed | TagMoved) -> str:
    """The message for one release (print it, or post it to your chat)."""
    verb = "released" if isinstance(event, TagPushed) else "re-released"
    return f"{event.registry}/{event.repository}:{event.tag} {verb} ({event.digest[:19]}) [{event.id[:8]}]"


def load_state(path: Path) -> dict[str, Any] | None:
    """The saved watch state, or None on the first run."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if isinstance(data, dict) else None


def save_state(path: Path, state: dict[str, Any]) -> None:
    """Write the state atomically (a crash never leaves half a file)."""
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(state))
    temporary.replace(path)


async def run_bot(
    client: DOCRClient,
    registry: str,
    *,
    stop: asyncio.Event,
    state_path: Path,
    pattern: str = RELEASE,
    polls: int | None = None,
    on_message: Callable[[str], object] = print,
    **watch_options: Any,
) -> int:
    """Announce release tags until ``stop`` is set (or after ``polls`` polls); return how many."""
    release = re.compile(pattern)
    announced = 0
    done = asyncio.Event()
    polled = 0

    def after_poll(stats: PollStats) -> None:
        nonlocal polled
        polled += 1
        logger.debug("poll %d: %d requests, next in %.0fs", stats.number, stats.requests, stats.interval)
        if watcher.state is not None:
            save_state(state_path, watcher.state.to_json())
        if polls is not None and polled >= polls:
            done.set()

    watcher = client.watch(
        registry,
        kinds=[TagPushed, TagMoved],
        since=load_state(state_path),
        on_poll=after_poll,
        **watch_options,
    )

    async def consume() -> None:
        nonlocal announced
        event: WatchEvent
        async for event in watcher:
            if isinstance(event, TagPushed | TagMoved) and release.fullmatch(event.tag):
                on_message(announce(event))
                announced += 1
            if watcher.state is not None:
                save_state(state_path, watcher.state.to_json())

    async with watcher:
        tasks = [asyncio.ensure_future(t) for t in (consume(), stop.wait(), done.wait())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        if not tasks[0].cancelled():
            tasks[0].result()  # a permanent error (401, unknown registry) ends the bot
    return announced


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", help="registry to watch (default: the account's first)")
    parser.add_argument("--base-url", help="API root, e.g. a local fake (the token still comes from the env)")
    parser.add_argument("--state", type=Path, default=Path("release_bot.state.json"), help="state file")
    parser.add_argument("--pattern", default=RELEASE, help="regex of release tags (%(default)s)")
    parser.add_argument("--replay", action="store_true", help="on the first run, announce existing releases")
    parser.add_argument("--budget", type=float, default=0.1, help="share of the hourly budget (%(default)s)")
    parser.add_argument("--polls", type=int, help="stop after this many polls")
    return parser.parse_args(argv)


async def main_async(argv: Sequence[str] | None = None, *, connect: TargetFactory | None = None) -> int:
    """Run the bot until SIGTERM/SIGINT (or ``--polls``); the client is closed on exit."""
    args = parse_args(argv)
    if connect is None:
        connect = partial(open_target, base_url=args.base_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with connect(args.registry) as (client, registry):
            logger.info("watching %s for %s", registry, args.pattern)
            announced = await run_bot(
                client,
                registry,
                stop=stop,
                state_path=args.state,
                pattern=args.pattern,
                polls=args.polls,
                replay=args.replay,
                budget=args.budget,
            )
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError, RuntimeError):
                loop.remove_signal_handler(sig)
    print(f"release bot stopped after {announced} announcement(s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(main_async(argv))


if __name__ == "__main__":
    sys.exit(main())
