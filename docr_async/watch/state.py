"""What a watcher has seen: :class:`WatchState`, saved as JSON and given back with ``since=``."""

from __future__ import annotations

import copy
from typing import Any

import attrs

from ..exceptions import ValidationError

__all__ = ["RepositoryState", "WatchState"]

STATE_VERSION = 1

Fingerprint = tuple[str, str, int, int]
"""What the repository listing says of a repository: latest digest and time, tag and manifest counts."""


@attrs.define(kw_only=True)
class RepositoryState:
    """One repository as last seen.

    Attributes:
        fingerprint: ``(latest digest, its updated_at, tag_count, manifest_count)`` from the listing.
        tags: ``{tag: (digest, updated_at ISO string)}``.
        manifests: The manifest digests known to exist.
    """

    fingerprint: Fingerprint = ("", "", 0, 0)
    tags: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    manifests: set[str] = attrs.field(factory=set)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "fingerprint": list(self.fingerprint),
            "tags": {tag: list(value) for tag, value in sorted(self.tags.items())},
            "manifests": sorted(self.manifests),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepositoryState:
        """Read :meth:`to_json` output back."""
        digest, updated, tags, manifests = data["fingerprint"]
        return cls(
            fingerprint=(str(digest), str(updated), int(tags), int(manifests)),
            tags={str(k): (str(v[0]), str(v[1])) for k, v in data["tags"].items()},
            manifests={str(d) for d in data["manifests"]},
        )


@attrs.define(kw_only=True)
class WatchState:
    """A snapshot of what a watcher has reported; JSON-able with :meth:`to_json`.

    Give it back as ``client.watch(since=state)`` (or the dict :meth:`to_json` made) and a restarted
    watcher reports only what changed since. It always matches the events already yielded: take it
    (``watcher.state``) after handling an event and nothing is announced twice or lost.

    Attributes:
        registry: The registry watched.
        repositories: The repositories whose tags are known.
        pending: Repositories seen in the listing whose baseline is not read yet.
        garbage_collections: ``{uuid: status}`` of the garbage collections seen.
        storage_usage_bytes: The storage usage last seen (``None``: not read yet).
        sweep_after: The repository the background sweep continues after.
    """

    registry: str
    repositories: dict[str, RepositoryState] = attrs.field(factory=dict)
    pending: dict[str, Fingerprint] = attrs.field(factory=dict)
    garbage_collections: dict[str, str] = attrs.field(factory=dict)
    storage_usage_bytes: int | None = None
    sweep_after: str = ""

    def copy(self) -> WatchState:
        """A deep copy."""
        return copy.deepcopy(self)

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict (``json.dumps`` it to save)."""
        return {
            "version": STATE_VERSION,
            "registry": self.registry,
            "repositories": {name: repo.to_json() for name, repo in sorted(self.repositories.items())},
            "pending": {name: list(fp) for name, fp in sorted(self.pending.items())},
            "garbage_collections": dict(self.garbage_collections),
            "storage_usage_bytes": self.storage_usage_bytes,
            "sweep_after": self.sweep_after,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WatchState:
        """Read :meth:`to_json` output back.

        Raises:
            ValidationError: If ``data`` is not a saved watch state of this version.
        """
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise ValidationError("since", "<state>", f"not a watch state of version {STATE_VERSION}")
        try:
            return cls(
                registry=str(data["registry"]),
                repositories={
                    str(name): RepositoryState.from_json(repo) for name, repo in data["repositories"].items()
                },
                pending={
                    str(name): (str(fp[0]), str(fp[1]), int(fp[2]), int(fp[3]))
                    for name, fp in data.get("pending", {}).items()
                },
                garbage_collections={str(k): str(v) for k, v in data["garbage_collections"].items()},
                storage_usage_bytes=data["storage_usage_bytes"],
                sweep_after=str(data.get("sweep_after", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise ValidationError("since", "<state>", f"a malformed watch state: {exc!r}") from None
