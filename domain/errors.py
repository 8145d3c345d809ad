"""Business errors. Each becomes a non-retryable ``ApplicationError`` whose type is its class name.

The message is written for the person who hit it: what rule refused, and what to do instead.
The rule id (``details[0]``) is a snake_case id from ``domain.rules``; an error raised without
one carries its class's general id (``invalid_state``), never a class name.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class BusinessRuleError(Exception):
    """A business rule refused the request; retrying will not help."""

    default_rule = "business_rule"

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule or self.default_rule

    def to_application_error(self) -> ApplicationError:
        """The form in which the error crosses the activity/workflow boundary."""
        return ApplicationError(
            self.message, self.rule, type=type(self).__name__, non_retryable=True
        )


class NotFoundError(BusinessRuleError):
    """A referenced partner, customer, user, binding or workflow does not exist."""

    default_rule = "not_found"


class PermissionDeniedError(BusinessRuleError):
    """The actor's role or party does not allow this action."""

    default_rule = "permission_denied"


class IneligibleError(BusinessRuleError):
    """An eligibility rule refuses the request (the rule name says which)."""

    default_rule = "ineligible"


class InvalidStateError(BusinessRuleError):
    """The request does not fit the current state (already decided, expired, cancelled...)."""

    default_rule = "invalid_state"


class InvalidInputError(BusinessRuleError):
    """The input is malformed (bad header value, bad field)."""

    default_rule = "invalid_input"


class PermanentDeliveryError(BusinessRuleError):
    """The mail server refused the message permanently (SMTP 5xx)."""

    default_rule = "permanent_delivery_failure"


class DecisionTimedOutError(BusinessRuleError):
    """A decision's activity did not finish within the workflow's ``decision_timeout``.

    The decision is refused rather than left hanging: the handler releases the workflow's
    decision lock, so other decisions and the workflow's own timers go on.
    """

    default_rule = "decision_timed_out"


class InvariantError(BusinessRuleError):
    """Workflow state broke an invariant the code relies on (a bug, not a user's mistake).

    Raised instead of ``assert`` in handlers: the caller gets a typed, non-retryable refusal
    with a rule id instead of a workflow task that fails and retries forever.
    """

    default_rule = "internal_invariant"


BUSINESS_ERROR_TYPES = [
    cls.__name__
    for cls in (
        BusinessRuleError,
        NotFoundError,
        PermissionDeniedError,
        IneligibleError,
        InvalidStateError,
        InvalidInputError,
        PermanentDeliveryError,
        DecisionTimedOutError,
        InvariantError,
    )
]
