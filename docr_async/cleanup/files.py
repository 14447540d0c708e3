"""Writing plan and report files: atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_private"]


def write_private(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically with mode 0600, and return the path.

    The text goes to a temporary file in the same directory (created 0600), is flushed to disk,
    then renamed over ``path``: a reader sees the old file or the new one, never a torn one, and
    an interrupted write leaves no partial file behind. An existing file is replaced, and its
    mode becomes 0600 too (plans and reports name every repository and tag).

    Raises:
        OSError: If the directory is not writable (the temporary file is removed).
    """
    target = Path(path)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return target
