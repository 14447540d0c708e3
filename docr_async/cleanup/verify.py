"""Checks the executor makes before each DELETE. Pure, except :func:`read_repository`.

Three layers, cheapest first:

1. :func:`policy_refusal`: the plan's own policy, re-applied to every item whatever the file says
   (a hand-edited plan cannot delete a protected, excluded or too-recent tag).
2. :func:`emptied_repositories`: the delete-everything guard (a plan that would leave a repository
   without any tag is refused as a whole unless explicitly allowed).
3. :func:`verdict`: the item against a fresh, strict listing of its repository read just before
   its DELETE (see :func:`read_repository`): a tag must still point at the planned digest and not
   have been pushed since; a manifest's current tags must all be among the tags the plan removes
   with it.
"""

from __future__ import annotations

from collections import defaultdict
from contextlib import aclosing
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

import attrs

from ..exceptions import ListingChangedError, NotFoundError
from ..models import Manifest, Tag
from .deletions import Deletion, DeletionKind
from .ecr import EcrLifecyclePolicy
from .native_rules import Rule
from .report import ItemStatus
from .rules import RetentionRules

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from datetime import datetime

    from .._client import DOCRClient
    from ..pagination import AsyncPager
    from .ecr_schema import EcrRule
    from .plan import CleanupPlan
    from .policy import RetentionPolicy

__all__ = [
    "MAX_REREADS",
    "RepositoryView",
    "emptied_repositories",
    "not_found",
    "policy_refusal",
    "read_repository",
    "require_registry",
    "rule_verdict",
    "verdict",
]

T = TypeVar("T")

_PLAN_POLICY = "the plan's policy"

MAX_REREADS = 3
"""Times a listing that changed while it was read is read again before giving up."""


def policy_refusal(plan: CleanupPlan, deletion: Deletion) -> str | None:
    """Why the plan's own policy forbids this item (None: it allows it). Pure.

    With a policy file (plan format 2), the repository's own rule decides: a repository no rule
    selects, a deletion recorded under another rule than the repository's, and a tag that rule
    protects, excludes or does not include are refused.
    """
    policy = plan.policy
    if isinstance(policy, RetentionRules):
        return _rules_refusal(policy, plan.created_at, deletion)
    if not policy.selects_repository(deletion.repository):
        return f"repository {deletion.repository} is not selected by the plan's policy"
    return _refusal(policy, plan.created_at, deletion, _PLAN_POLICY)


def _rules_refusal(rules: RetentionRules, created_at: datetime, deletion: Deletion) -> str | None:
    found = rules.rule_for(deletion.repository)
    if found is None:
        return f"repository {deletion.repository} is not selected by any rule of the plan's policy file"
    index, rule = found
    if deletion.rule_index != index:
        planned = "no rule" if deletion.rule_index is None else f"rule {deletion.rule_index}"
        return f"the plan records {planned} for it, but {deletion.repository} is handled by {rule.label}"
    if isinstance(rule, Rule):
        if deletion.rule != rule.label:
            credited = f"the plan credits it to {deletion.rule!r}"
            return f"{credited}, but {deletion.repository} is handled by {rule.label}"
        return _refusal(rule.policy, created_at, deletion, rule.label)
    return _ecr_refusal(rule, created_at, deletion)


def _ecr_refusal(policy: EcrLifecyclePolicy, created_at: datetime, deletion: Deletion) -> str | None:
    if deletion.kind is DeletionKind.TAG:
        return "an ECR lifecycle policy expires whole images (manifests), never a single tag"
    for tag in deletion.tags:
        if policy.tag_exemption(tag) is not None:
            return f"manifest carries tag {tag}, which is protected under the ECR lifecycle policy"
    rule = next((r for r in policy.rules if r.label == deletion.rule), None)
    if rule is None:
        return f"the plan names {deletion.rule!r}, which is not a rule of the ECR lifecycle policy"
    if not rule.selects(frozenset(deletion.tags)):
        return f"{rule.label} does not select an image with tags {list(deletion.tags)}"
    deciding = _deciding_rule(policy, deletion.tags)
    if deciding is not None and deciding is not rule:
        return (
            f"{deciding.label} matches an image with tags {list(deletion.tags)}, so the lower-priority "
            f"{rule.label} cannot expire it"
        )
    if deletion.updated_at is None:
        return "the plan records no push time for it (when in doubt, keep)"
    if rule.count_type == "sinceImagePushed" and deletion.updated_at >= created_at - timedelta(
        days=rule.count_number
    ):
        return f"pushed within {rule.count_number} days of the plan: {rule.label} keeps it"
    return None


def _deciding_rule(policy: EcrLifecyclePolicy, tags: Iterable[str]) -> EcrRule | None:
    """The ECR rule that decides an image with these tags: the first, by priority, whose tag
    selection matches it (a lower-priority rule may count it but never expire it)."""
    selected = frozenset(tags)
    return next((rule for rule in policy.rules if rule.selects(selected)), None)


def rule_verdict(
    plan: CleanupPlan, view: RepositoryView, deletion: Deletion
) -> tuple[ItemStatus, str] | None:
    """An ECR image deletion against the image's tags in a fresh listing: None when the rule the
    plan records still decides it, else skipped with the reason. Pure.

    The tags may have changed since planning (one removed, say), and with them the rule that
    decides the image: a higher-priority rule that now matches it protects it from the lower one.
    """
    policy = plan.policy
    if not isinstance(policy, RetentionRules) or deletion.kind is not DeletionKind.MANIFEST:
        return None
    found = policy.rule_for(deletion.repository)
    if found is None or not isinstance(found[1], EcrLifecyclePolicy):
        return None
    current = sorted(view.digest_tags.get(deletion.digest, set()))
    deciding = _deciding_rule(found[1], current)
    if deciding is not None and deciding.label == deletion.rule:
        return None
    now = "no rule of the ECR lifecycle policy" if deciding is None else deciding.label
    return ItemStatus.SKIPPED, (
        f"with the tags it has now ({current}) the image is decided by {now}, not by the planned "
        f"{deletion.rule}: changed since planning"
    )


def _refusal(policy: RetentionPolicy, created_at: datetime, deletion: Deletion, whose: str) -> str | None:
    """The checks of one :class:`RetentionPolicy` (the plan's, or a native rule's)."""
    if deletion.kind is DeletionKind.TAG:
        assert deletion.tag is not None
        if not policy.touches_tags:
            return f"{whose} deletes no tags"
        exemption = policy.tag_exemption(deletion.tag)
        if exemption is not None:
            return f"tag {deletion.tag} is {exemption} under {whose}"
        return _age_refusal(policy, created_at, deletion, whose)
    if not policy.delete_untagged:
        return f"{whose} does not delete manifests (delete_untagged is off)"
    if deletion.tags and not policy.touches_tags:
        return f"{whose} deletes no tags, and this manifest carries some"
    for tag in deletion.tags:
        exemption = policy.tag_exemption(tag)
        if exemption is not None:
            return f"manifest carries tag {tag}, which is {exemption} under {whose}"
    if deletion.tags:
        return _age_refusal(policy, created_at, deletion, whose)
    cutoff = policy.untagged_cutoff(created_at)
    if cutoff is not None and (deletion.updated_at is None or deletion.updated_at >= cutoff):
        return f"untagged manifest newer than {_limit(whose, 'untagged age limit')}"
    return None


def _limit(whose: str, limit: str) -> str:
    """``the plan's age limit`` (plan format 1, as before), or ``the age limit of rule 2 (dev/*)``."""
    return f"the plan's {limit}" if whose == _PLAN_POLICY else f"the {limit} of {whose}"


def _age_refusal(policy: RetentionPolicy, created_at: datetime, deletion: Deletion, whose: str) -> str | None:
    if deletion.updated_at is None:
        return "the plan records no push time for it (when in doubt, keep)"
    cutoff = policy.cutoff(created_at)
    if cutoff is not None and deletion.updated_at >= cutoff:
        return f"newer than {_limit(whose, 'age limit')}"
    return None


def removed_tags(deletions: Iterable[Deletion]) -> dict[str, set[str]]:
    """Repository -> the tags these deletions remove (tag deletions and tags of deleted manifests)."""
    out: dict[str, set[str]] = defaultdict(set)
    for d in deletions:
        if d.kind is DeletionKind.TAG:
            assert d.tag is not None
            out[d.repository].add(d.tag)
        else:
            out[d.repository].update(d.tags)
    return out


def emptied_repositories(plan: CleanupPlan) -> list[str]:
    """Repositories the plan would leave without any tag (by its own record of what it keeps)."""
    kept: dict[str, set[str]] = defaultdict(set)
    for k in plan.kept:
        if k.tag is not None:
            kept[k.repository].add(k.tag)
    return sorted(
        repo for repo, tags in removed_tags(plan.deletions).items() if tags and not kept[repo] - tags
    )


@attrs.define
class RepositoryView:
    """A repository as a fresh listing showed it, updated as the executor's own deletions succeed.

    Attributes:
        listed_at: The client clock when the listing started (the start of the item's window).
        exists: False when the listing answered 404.
        tags: Tag name -> tag, from the tag listing.
        manifests: Digest -> manifest, from the manifest listing (empty when not listed).
        digest_tags: Digest -> every tag pointing at it, from both listings.
        pages: Listing pages read.
    """

    listed_at: float
    exists: bool = True
    tags: dict[str, Tag] = attrs.field(factory=dict)
    manifests: dict[str, Manifest] = attrs.field(factory=dict)
    digest_tags: dict[str, set[str]] = attrs.field(factory=lambda: defaultdict(set))
    pages: int = 0

    def forget(self, deletion: Deletion) -> None:
        """Remove what a successful (or already-gone) deletion removed."""
        if deletion.kind is DeletionKind.TAG:
            assert deletion.tag is not None
            self.tags.pop(deletion.tag, None)
            self.digest_tags[deletion.digest].discard(deletion.tag)
            return
        self.manifests.pop(deletion.digest, None)
        for tag in self.digest_tags.pop(deletion.digest, set()):
            self.tags.pop(tag, None)


async def _strict(make: Callable[[], AsyncPager[T]], what: str) -> tuple[list[T], int]:
    """Every item of a fresh strict listing (``on_change="raise"``), read again from its first page
    (up to MAX_REREADS times) when it changed while it was read. Nothing is ever de-duplicated.

    Returns the items and the number of pages read.
    """
    pages = 0
    last: ListingChangedError | None = None
    for _ in range(MAX_REREADS):
        items: list[T] = []
        try:
            async with aclosing(make().pages()) as stream:
                async for page in stream:
                    pages += 1
                    items.extend(page.items)
        except ListingChangedError as exc:
            last = exc
            continue
        return items, pages
    raise ListingChangedError(f"{what} changed while it was read, {MAX_REREADS} times in a row: {last}")


def not_found(exc: NotFoundError, message: str) -> NotFoundError:
    """The same 404, saying what was not found in words a user can act on."""
    return NotFoundError(
        status=exc.status,
        message=message,
        error_id=exc.error_id,
        request_id=exc.request_id,
        method=exc.method,
        url=exc.url,
        rate_limit=exc.rate_limit,
        retries=exc.retries,
    )


async def require_registry(client: DOCRClient, registry: str) -> None:
    """Check that the registry exists, so a typo never looks like "everything already gone".

    Raises:
        NotFoundError: ``registry <name> not found``.
    """
    try:
        await client.registries.get(registry)
    except NotFoundError as exc:
        raise not_found(exc, f"registry {registry} not found") from exc


async def read_repository(
    client: DOCRClient, registry: str, repository: str, *, manifests: bool, now: float
) -> RepositoryView:
    """A fresh, strict listing of a repository's tags (and manifests, when asked).

    Raises:
        NotFoundError: If the repository does not exist.
        ListingChangedError: If a listing kept changing while it was read.
        DOCRError: If a listing fails.
    """
    view = RepositoryView(listed_at=now)
    tags, pages = await _strict(
        lambda: client.tags.list(repository, registry=registry, on_change="raise"),
        f"the tag listing of {repository}",
    )
    view.pages += pages
    for tag in tags:
        view.tags[tag.tag] = tag
        view.digest_tags[tag.manifest_digest].add(tag.tag)
    if manifests:
        found, pages = await _strict(
            lambda: client.manifests.list(repository, registry=registry, on_change="raise"),
            f"the manifest listing of {repository}",
        )
        view.pages += pages
        for manifest in found:
            view.manifests[manifest.digest] = manifest
            view.digest_tags[manifest.digest].update(manifest.tags)
    return view


def verdict(view: RepositoryView, deletion: Deletion) -> tuple[ItemStatus, str] | None:
    """The item against a fresh listing: None to delete it, else the status and reason not to."""
    if not view.exists:
        return ItemStatus.ALREADY_GONE, "the repository was not found when verified"
    if deletion.kind is DeletionKind.TAG:
        assert deletion.tag is not None
        current = view.tags.get(deletion.tag)
        if current is None:
            return ItemStatus.ALREADY_GONE, "not in the tag listing when verified"
        if current.manifest_digest != deletion.digest:
            return ItemStatus.SKIPPED, (
                f"tag {deletion.tag} now points at {current.manifest_digest}, not the planned "
                f"{deletion.digest}: it was pushed again since planning"
            )
        if (
            current.updated_at is None
            or deletion.updated_at is None
            or current.updated_at > deletion.updated_at
        ):
            return ItemStatus.SKIPPED, f"tag {deletion.tag} was updated since planning ({current.updated_at})"
        return None
    manifest = view.manifests.get(deletion.digest)
    if manifest is None:
        return ItemStatus.ALREADY_GONE, "not in the manifest listing when verified"
    extra = view.digest_tags.get(deletion.digest, set()) - set(deletion.tags)
    if extra:
        return ItemStatus.SKIPPED, f"manifest gained tags since planning: {sorted(extra)}"
    if (
        deletion.updated_at is not None
        and manifest.updated_at is not None
        and manifest.updated_at > deletion.updated_at
    ):
        return ItemStatus.SKIPPED, f"manifest was pushed again since planning ({manifest.updated_at})"
    return None
