"""What a signed-in actor may see: tasks by role and party; everything else is 404.

The rule is the services' (``partnerflow tasks --as`` uses the same): partner users see
their partner's tasks, a customer only its own, finance and managers the tasks of their role,
ops everything.
"""

from starter.services.tasks import NotInScopeError, task_in_scope

__all__ = ["NotInScopeError", "task_in_scope"]
