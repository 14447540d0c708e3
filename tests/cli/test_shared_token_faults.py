"""Acceptance of issue 16: a bulk deletion under a shared token survives frequent 429s plus faults.

The fake's burst window (4 requests per second) is far smaller than the one the CLI assumes (250
per minute), as when other processes spend the same token, so burst 429s are frequent; on top of
them 5xx answers and dropped connections are injected. Every run must delete every tag and exit 0,
for 20 fault seeds in a row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .conftest import REGISTRY, Fake, Result

if TYPE_CHECKING:
    from collections.abc import Callable

    Docr = Callable[..., Result]

SEEDS = range(20)
TAGS = 6


def test_bulk_delete_with_frequent_429s_and_faults_deletes_everything_for_20_seeds(
    docr: Docr, fake: Fake
) -> None:
    outcomes: dict[int, str] = {}
    throttled = 0
    fake.reset()
    listed = docr("tags", "list", "api", "-r", REGISTRY, "-o", "json")
    assert listed.code == 0, str(listed)
    tags = [t["tag"] for t in listed.json()][:TAGS]
    for seed in SEEDS:
        fake.reset()  # the same seeded tags again
        fake.control("PUT", "/_fake/rate-limits", {"burst_limit": 4, "burst_window": 1.0, "reset": True})
        fake.control("PUT", "/_fake/faults", {"error_rate": 0.1, "drop_rate": 0.05, "seed": seed})
        before = fake.control("GET", "/_fake/state")["throttled_served"]

        result = docr("tags", "delete", *tags, "--repo", "api", "-r", REGISTRY, "-f", "-c", "4", "-o", "json")

        fake.control("PUT", "/_fake/faults", {})
        fake.control("PUT", "/_fake/rate-limits", {"enabled": False, "reset": True})
        throttled += fake.control("GET", "/_fake/state")["throttled_served"] - before
        left = {
            t["tag"]
            for t in fake.control("GET", f"/v2/registries/{REGISTRY}/repositories/api/tags?per_page=200")[
                "tags"
            ]
        }
        if result.code != 0 or left & set(tags):
            outcomes[seed] = (
                f"exit {result.code}, {len(left & set(tags))} tag(s) left: {result.stdout[-400:]}"
            )
    # 429s in at least every other run (each run sends about ten requests; 23 over the 20 runs when
    # last measured). Since the executor waits for a free slot of its own window before verifying,
    # fewer burst 429s reach it than the 68 of the first version of this test.
    assert throttled >= len(SEEDS) // 2, "429s were not frequent: the test would prove nothing"
    print(f"429s served over {len(SEEDS)} runs: {throttled}")
    assert outcomes == {}, f"{len(outcomes)} of {len(SEEDS)} seeds failed"
