"""Safe bulk cleanup: retention policy -> plan (pure) -> execute (concurrent) -> garbage collection.

>>> policy = RetentionPolicy(keep_last=10, older_than="30d", delete_untagged=True)  # doctest: +SKIP
>>> plan = await build_plan(client, "example", policy)  # lists everything, deletes nothing
>>> report = await execute_plan(client, plan)  # or dry_run=True
>>> gc = await collect_garbage(client, "example")  # storage drops only after this

Per-repository rules (a native TOML/JSON rule list, or an AWS ECR lifecycle policy) load with
``RetentionRules.from_file(path)``; ``rules.evaluate(repository, tags, manifests, now)`` explains
each tag's fate and yields the repository's plan; ``build_plan(client, registry, rules)`` plans each
repository by its own rule, and ``explain_policy`` says which rule applies and why, per tag.

>>> usage = await disk_usage(client, "example", policy=policy)  # doctest: +SKIP

reports where the storage goes (blobs counted once) and what the cleanup plus GC would free.
"""

from .decisions import Decision, PolicyFileError, RepositoryDecisions, Verdict
from .ecr import EcrLifecyclePolicy, EcrRule
from .errors import PlanRefusedError, PlanVersionError
from .executor import DEFAULT_REVERIFY_AFTER, CleanupExecutor, execute_plan
from .files import write_private
from .gc import GCResult, collect_garbage
from .named import NamedDeletions, plan_named_deletions
from .plan import CleanupPlan, Deletion, DeletionKind, Kept, plan_repository
from .planner import build_plan, explain_policy
from .policy import Pattern, RetentionPolicy, parse_duration
from .report import CleanupReport, ItemResult, ItemStatus
from .rules import RetentionRules, Rule
from .usage import RepositoryListing, RepositoryUsage, UsageReport, compute_usage, disk_usage

__all__ = [
    "DEFAULT_REVERIFY_AFTER",
    "CleanupExecutor",
    "CleanupPlan",
    "CleanupReport",
    "Decision",
    "Deletion",
    "DeletionKind",
    "EcrLifecyclePolicy",
    "EcrRule",
    "GCResult",
    "ItemResult",
    "ItemStatus",
    "Kept",
    "NamedDeletions",
    "Pattern",
    "PlanRefusedError",
    "PlanVersionError",
    "PolicyFileError",
    "RepositoryDecisions",
    "RepositoryListing",
    "RepositoryUsage",
    "RetentionPolicy",
    "RetentionRules",
    "Rule",
    "UsageReport",
    "Verdict",
    "build_plan",
    "collect_garbage",
    "compute_usage",
    "disk_usage",
    "execute_plan",
    "explain_policy",
    "parse_duration",
    "plan_named_deletions",
    "plan_repository",
    "write_private",
]
