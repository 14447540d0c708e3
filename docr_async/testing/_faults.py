"""Seeded fault injection: which request meets which fault (5xx, spurious 429, drop, lost response)
and how much latency it gets, drawn in request order from a reproducible RNG."""

from __future__ import annotations

import random

import attrs

from ._configs import FaultConfig

__all__ = ["Fault", "FaultInjector"]


@attrs.frozen
class Fault:
    """The draw for one request: a fault kind (or ``None``), a 5xx status for ``error``, a delay."""

    kind: str | None = None
    """``drop``, ``lost_response``, ``error``, ``spurious_429`` or ``None``."""
    status: int | None = None
    delay: float = 0.0


class FaultInjector:
    """Draws a :class:`Fault` per request from the current :class:`FaultConfig`."""

    def __init__(self, seed: int) -> None:
        self._default_seed = seed
        self.config = FaultConfig()
        self._rng = random.Random(seed)  # noqa: S311 - reproducible test data
        self._seen = 0

    def configure(self, config: FaultConfig) -> None:
        """Use ``config`` from now on: re-seed the RNG and restart the ``skip_first`` count."""
        self.config = config
        seed = config.seed if config.seed is not None else self._default_seed
        self._rng = random.Random(seed)  # noqa: S311
        self._seen = 0

    def draw(self, method: str) -> Fault:
        """The fault (and latency) for the next request with ``method``."""
        cfg = self.config
        if cfg.methods is not None and method.upper() not in cfg.methods:
            return Fault()
        self._seen += 1
        if self._seen <= cfg.skip_first:
            return Fault()
        rng = self._rng
        kind: str | None = None
        status: int | None = None
        if cfg.drop_rate or cfg.lost_response_rate or cfg.error_rate or cfg.spurious_429_rate:
            draw = rng.random()
            threshold = 0.0
            for name, rate in (
                ("drop", cfg.drop_rate),
                ("lost_response", cfg.lost_response_rate),
                ("error", cfg.error_rate),
                ("spurious_429", cfg.spurious_429_rate),
            ):
                threshold += rate
                if draw < threshold:
                    kind = name
                    break
            if kind == "error":
                status = cfg.error_statuses[rng.randrange(len(cfg.error_statuses))]
        delay = cfg.latency + (rng.random() * cfg.jitter if cfg.jitter > 0 else 0.0)
        return Fault(kind, status, delay)
