"""FakeDOCR garbage collections that move in the fake's time, one step per read, not in real time.

A GC with a real-time step of a few milliseconds may be over before the test's next request on a
loaded machine (a cancel that comes too late, a delete that no longer gets 409). With
:func:`gc_in_virtual_time` a GC's status only changes when the test reads it: however slow the
machine, a GC started is still running for the requests that follow, and a wait still ends.

It is the suite's one helper for this: apply it to a running fake before its first GC starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from aiohttp import web

    from docr_async.testing import FakeDOCR, ResponseHook

GC_STEP = 3600.0
"""One step of a GC in the fake's time: no test runs that long, so no step passes by itself."""


def gc_in_virtual_time(fake: FakeDOCR, step: float = GC_STEP) -> ResponseHook:
    """Give ``fake``'s new GCs steps of ``step`` of its time, and advance its clock one step per read.

    Every successful ``GET`` of a garbage-collection endpoint (the active GC, one by uuid, the
    history) is answered first and then moves the fake's clock forward by ``step``: a GC walks one
    status per poll, and a cancelled one ends at the next read. A GC whose own step is much longer
    than ``step`` (set through ``fake.gc_config`` later) never ends while the test runs.

    Returns:
        The response hook, already in ``fake.response_hooks``.
    """
    fake.gc_config = attrs.evolve(fake.gc_config, step_seconds=step)

    def one_step_per_read(request: web.Request, response: web.Response, body: bytes) -> None:
        if request.method == "GET" and "garbage-collection" in request.path and response.status < 300:
            fake.advance_clock(step)

    fake.response_hooks.append(one_step_per_read)
    return one_step_per_read
