"""watch() against FakeDOCR with a writer changing it between polls, in virtual time.

Each change of the script runs at a fixed point (inside the injected sleep, between two polls); the
tests check that every change is reported exactly once, in order per repository, within two
intervals when the repository listing shows it (within the sweep period otherwise), and nothing else.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import pytest

from docr_async.watch import GarbageCollectionFinished, StorageChanged, TagMoved, WatchEvent

from .conftest import INTERVAL, REGISTRY, Done, Script, drain, repos

if TYPE_CHECKING:
    from docr_async import DOCRClient
    from docr_async.testing import FakeDOCR

Key = tuple[str, str, str, str]


def key(event: WatchEvent) -> Key:
    return (event.kind, event.repository, getattr(event, "tag", ""), getattr(event, "digest", ""))


async def collect(client: DOCRClient, script: Script, **options: Any) -> list[tuple[int, WatchEvent]]:
    """Run the watch until the script ends; every event with the number of the poll that reported it."""
    seen: list[tuple[int, WatchEvent]] = []
    with pytest.raises(Done):
        await drain(client.watch(REGISTRY, interval=INTERVAL, sleep=script, **options), script, seen)
    return seen


async def test_every_change_is_reported_once_in_order_within_two_intervals(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    state, now = fake.state, fake.clock
    names = sorted(repos(fake))
    a, b = names[0], names[1]
    a_repo, b_repo = repos(fake)[a], repos(fake)[b]
    old_digest = next(m.digest for m in a_repo.sorted_manifests()[1:] if m.tags)
    b_tag = b_repo.sorted_tags()[-1].name
    b_tag_digest = b_repo.tags[b_tag].manifest.digest
    b_manifest = next(m for m in b_repo.sorted_manifests() if m.tags and m.digest != b_tag_digest)
    done: dict[int, list[Key]] = {}
    storage: list[int] = []

    def step(index: int, action: Any, keys: Any) -> Any:
        def run() -> None:
            result = action()
            done[index] = keys(result) if callable(keys) else keys
            storage.append(state.registries[REGISTRY].storage_usage_bytes)

        return run

    def start_gc() -> None:
        state.start_gc(REGISTRY, "untagged manifests and unreferenced blobs", now())

    def gc_keys(_: object) -> list[Key]:
        return [
            ("manifest_deleted", name, "", m.digest)
            for name, repo in sorted(repos(fake).items())
            for m in repo.sorted_manifests()
            if not m.tags
        ]

    changes = [
        step(
            0, lambda: fake.push(REGISTRY, a, "watch-1"), lambda m: [("tag_pushed", a, "watch-1", m.digest)]
        ),
        # onto an older manifest: tag and manifest counts and the latest manifest stay the same
        step(
            1,
            lambda: fake.push(REGISTRY, a, "watch-1", digest=old_digest),
            [("tag_moved", a, "watch-1", old_digest)],
        ),
        step(
            2, lambda: state.delete_tag(REGISTRY, b, b_tag, now()), [("tag_deleted", b, b_tag, b_tag_digest)]
        ),
        step(
            3,
            lambda: state.delete_manifest(REGISTRY, b, b_manifest.digest, now()),
            [
                *(("tag_deleted", b, t, b_manifest.digest) for t in sorted(b_manifest.tags)),
                ("manifest_deleted", b, "", b_manifest.digest),
            ],
        ),
        step(
            4,
            lambda: fake.push(REGISTRY, "watch/new", "1.0"),
            lambda m: [
                ("repository_created", "watch/new", "", ""),
                ("tag_pushed", "watch/new", "1.0", m.digest),
            ],
        ),
        step(5, lambda: state.delete_repository(REGISTRY, a, now()), [("repository_deleted", a, "", "")]),
    ]
    gc_expected: list[Key] = []

    def run_gc() -> None:
        gc_expected.extend(gc_keys(None))
        start_gc()

    changes.append(run_gc)
    script = Script(fake, changes, extra_polls=12)
    seen = await collect(client, script, budget=1.0)

    # Exactly the changes made: nothing missing, nothing twice, nothing invented.
    want = [k for i in sorted(done) for k in done[i]] + gc_expected
    want += [("garbage_collection_started", "", "", ""), ("garbage_collection_finished", "", "", "")]
    got = [key(e) for _, e in seen if not isinstance(e, StorageChanged)]
    assert Counter(got) == Counter(want)
    assert len({e.id for _, e in seen}) == len(seen)

    # In order per repository.
    per_repo: dict[str, list[Key]] = defaultdict(list)
    for k in got:
        per_repo[k[1]].append(k)
    for name in (a, b, "watch/new"):
        assert per_repo[name] == [k for k in want if k[1] == name]

    # Within two intervals of the change (change i runs before poll i + 2), except the re-tag,
    # which only the sweep sees (budget=1.0 sweeps every repository each poll: also within two).
    first_poll = {k: poll for poll, e in reversed(seen) for k in [key(e)]}
    for index, keys in done.items():
        for k in keys:
            assert first_poll[k] <= index + 3, (k, first_poll[k], index)

    # The GC: started, then finished with what it freed; storage only ever reported as it was.
    gc_events = [e for _, e in seen if e.kind.startswith("garbage_collection")]
    assert [e.kind for e in gc_events] == ["garbage_collection_started", "garbage_collection_finished"]
    finished = gc_events[1]
    assert isinstance(finished, GarbageCollectionFinished)
    [gc] = state.registries[REGISTRY].garbage_collections
    assert finished.uuid == gc.uuid
    assert finished.status == "succeeded"
    assert finished.freed_bytes == gc.freed_bytes
    assert finished.freed_bytes
    reported = [e.storage_usage_bytes for _, e in seen if isinstance(e, StorageChanged)]
    final = state.registries[REGISTRY].storage_usage_bytes
    assert reported
    assert reported[-1] == final
    assert set(reported) <= {*storage, final}


async def test_a_retag_the_listing_hides_is_found_by_the_sweep_within_its_period(
    fake: FakeDOCR, client: DOCRClient
) -> None:
    a = sorted(repos(fake))[0]
    old = next(m.digest for m in repos(fake)[a].sorted_manifests()[1:] if m.tags)
    moved_tag = next(t.name for t in repos(fake)[a].sorted_tags() if t.manifest.digest != old)
    budget = 0.02  # 100 requests per hour: at most one or two repositories swept per poll
    # Let the first baseline finish, then move a tag onto another existing manifest.
    baseline_polls = 8
    changes: list[Any] = [None] * baseline_polls
    changes.append(lambda: fake.push(REGISTRY, a, moved_tag, digest=old))
    script = Script(fake, changes, extra_polls=12)
    watcher = client.watch(REGISTRY, interval=INTERVAL, sleep=script, budget=budget)
    seen: list[tuple[int, WatchEvent]] = []
    with pytest.raises(Done):
        await drain(watcher, script, seen)
    assert [key(e) for _, e in seen] == [("tag_moved", a, moved_tag, old)]
    [(poll, event)] = seen
    assert isinstance(event, TagMoved)
    assert event.previous_digest != old
    period = watcher.sweep_period
    assert period is not None
    assert period > INTERVAL  # the sweep is slower than the listing: the re-tag waited for it
    assert poll - (baseline_polls + 2) + 1 <= math.ceil(period / INTERVAL) + 1
    assert all(s == INTERVAL for s in script.sleeps)
