"""Safe bulk cleanup: retention policy -> plan (pure) -> execute (concurrent) -> garbage collection.

>>> policy = RetentionPolicy(keep_last=10, older_than="30d", delete_untagged=True)  # doctest: +SKIP
>>> plan = await build_plan(client, "example", policy)  # lists everything, deletes nothing
>>> report = await execute_plan(client, plan)  # or dry_run=True
>>> gc = await collect_garbage(client, "example")  # storage drops only after this
"""

from .executor import CleanupExecutor, CleanupReport, ItemResult, ItemStatus, execute_plan
from .gc import GCResult, collect_garbage
from .plan import CleanupPlan, Deletion, DeletionKind, Kept, plan_repository
from .planner import build_plan
from .policy import Pattern, RetentionPolicy, parse_duration

__all__ = [
    "CleanupExecutor",
    "CleanupPlan",
    "CleanupReport",
    "Deletion",
    "DeletionKind",
    "GCResult",
    "ItemResult",
    "ItemStatus",
    "Kept",
    "Pattern",
    "RetentionPolicy",
    "build_plan",
    "collect_garbage",
    "execute_plan",
    "parse_duration",
    "plan_repository",
]
