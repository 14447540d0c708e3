"""Tables and plain text never show the token, even when a server echoes it into a listing.

The registries listing of an in-process FakeDOCR is rewritten by a response hook so that a region,
a repository name and a tag name carry the presented token; ``docr`` runs as a real subprocess with
its stdout on a pseudo-terminal (Rich tables) and on a pipe (plain text).
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
from typing import TYPE_CHECKING

from docr_async.testing import FakeDOCR, RateLimitConfig, SeedSpec

from .conftest import DOCR, base_env

if TYPE_CHECKING:
    from aiohttp import web

UNLIMITED = RateLimitConfig(hourly_limit=10**9, burst_limit=10**9)


def echo_token_into_listings(request: web.Request, response: web.Response, body: bytes) -> None:
    """Write the presented token into every registry's region and every tag's name."""
    if response.status != 200 or response.content_type != "application/json" or not body:
        return
    token = request.headers.get("Authorization", "").removeprefix("Bearer ")
    data = json.loads(body)
    for registry in data.get("registries", []):
        registry["region"] = f"echo-{token}"
    for index, tag in enumerate(data.get("tags", [])):
        tag["tag"] = f"t{index}-{token}"
    response.body = json.dumps(data).encode()


async def run(args: list[str], token: str, *, tty: bool) -> tuple[int, str, str]:
    env = base_env(DIGITALOCEAN_TOKEN=token, COLUMNS="400")
    if not tty:
        proc = await asyncio.create_subprocess_exec(
            *DOCR, *args, stdin=asyncio.subprocess.DEVNULL, stdout=-1, stderr=-1, env=env
        )
        async with asyncio.timeout(60):
            out, err = await proc.communicate()
        assert proc.returncode is not None
        return proc.returncode, out.decode(), err.decode()
    leader, follower = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *DOCR, *args, stdin=asyncio.subprocess.DEVNULL, stdout=follower, stderr=-1, env=env
        )
        os.close(follower)
        follower = -1
        async with asyncio.timeout(60):
            _, err = await proc.communicate()
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert proc.returncode is not None
    return proc.returncode, b"".join(chunks).decode(errors="replace"), err.decode()


async def test_an_echoed_token_is_redacted_in_tables_and_text() -> None:
    async with FakeDOCR(
        seed=3, seed_spec=SeedSpec(repos=1, tags=3, untagged=0), rate_limits=UNLIMITED
    ) as fake:
        fake.response_hooks.append(echo_token_into_listings)
        base = ["--base-url", fake.url]
        outputs = {
            "table-tty": await run([*base, "registries", "list"], fake.token, tty=True),
            "text": await run([*base, "registries", "list"], fake.token, tty=False),
            "tags-tty": await run([*base, "tags", "list", "api"], fake.token, tty=True),
            "tags-text": await run([*base, "tags", "list", "api", "--format", "Tag"], fake.token, tty=False),
        }
    for name, (code, out, err) in outputs.items():
        assert code == 0, (name, out, err)
        assert fake.token not in out + err, name
        assert "<redacted>" in out, (name, out)
    assert "│" in outputs["table-tty"][1] or "┃" in outputs["table-tty"][1], "a Rich table on a terminal"
    assert "│" not in outputs["text"][1], "plain text on a pipe"
