"""``python -m benchmarks._profiled_fake OUT [fake args]``: FakeDOCR with an on-demand CPU profile.

SIGUSR1 switches cProfile (on the process CPU clock) on, a second SIGUSR1 off, so start-up and
seeding stay out of the profile. The profile is written to ``OUT`` when the server stops.
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from typing import Any

from docr_async.testing.__main__ import main as fake_main


def main(argv: list[str]) -> int:
    """Run the fake's own ``main`` with the remaining arguments; SIGUSR1 toggles the profiler."""
    out, *args = argv
    profiler = cProfile.Profile(time.process_time)
    active = False

    def toggle(_signum: int, _frame: Any) -> None:
        nonlocal active
        if active:
            profiler.disable()
        else:
            profiler.enable()
        active = not active

    signal.signal(signal.SIGUSR1, toggle)
    try:
        return fake_main(args)
    finally:
        if active:
            profiler.disable()
        profiler.dump_stats(out)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
