"""Business errors. Each becomes a non-retryable ``ApplicationError`` whose type is its class name.

The message is written for the person who hit it: what rule refused, and what to do instead.
"""

from __future__ import annotations

from temporalio.exceptions import ApplicationError


class BusinessRuleError(Exception):
    """A business rule refused the request; retrying will not help."""

    def __init__(self, message: str, *, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule or type(self).__name__

    def to_application_error(self) -> ApplicationError:
        """The form in which the error crosses the activity/workflow boundary."""
        return ApplicationError(
            self.message, self.rule, type=type(self).__name__, non_retryable=True
        )


class NotFoundError(BusinessRuleError):
    """A referenced partner, customer, user, binding or workflow does not exist."""


class PermissionDeniedError(BusinessRuleError):
    """The actor's role or party does not allow this action."""


class IneligibleError(BusinessRuleError):
    """An eligibility rule refuses the request (the rule name says which)."""


class InvalidStateError(BusinessRuleError):
    """The request does not fit the current state (already decided, expired, cancelled...)."""


class InvalidInputError(BusinessRuleError):
    """The input is malformed (bad header value, bad field)."""


class PermanentDeliveryError(BusinessRuleError):
    """The mail server refused the message permanently (SMTP 5xx)."""


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
    )
]
