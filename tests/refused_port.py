"""A loopback URL that refuses every connection, for as long as the test holds it.

A port freed after a bind ("unused" a moment ago) can be taken by any other process on a busy
machine, which then answers instead of refusing. A socket bound but never listening keeps the port
for this test alone, and the kernel refuses (RST) every connection to it.
"""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


@contextmanager
def refused_url() -> Iterator[str]:
    """Yield ``http://127.0.0.1:PORT`` for a port held bound, not listening, until the block ends."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{held.getsockname()[1]}"
