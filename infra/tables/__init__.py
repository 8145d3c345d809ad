"""All tables. Importing this package registers every table on ``Base.metadata``.

Each workflow area keeps its own tables in its own module; the shared ones (parties,
bindings, human tasks, audit, email outbox) live in ``core``.
"""

from infra.tables.core import (
    AuditEvent,
    Binding,
    Customer,
    EmailOutbox,
    HumanTask,
    Invitation,
    LinkUse,
    Partner,
    User,
)

__all__ = [
    "AuditEvent",
    "Binding",
    "Customer",
    "EmailOutbox",
    "HumanTask",
    "Invitation",
    "LinkUse",
    "Partner",
    "User",
]
