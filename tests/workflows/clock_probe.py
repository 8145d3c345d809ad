"""A workflow that waits for an answer or a far deadline (for the shared-clock tests)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow


@workflow.defn
class ClockProbeWorkflow:
    """Returns ``answered`` when its update comes first, ``expired`` when ``days`` pass."""

    def __init__(self) -> None:
        self._answered = False

    @workflow.run
    async def run(self, days: int) -> str:
        """Waits for :meth:`answer` at most ``days`` days."""
        try:
            await workflow.wait_condition(lambda: self._answered, timeout=timedelta(days=days))
        except TimeoutError:
            return "expired"
        await workflow.wait_condition(workflow.all_handlers_finished)
        return "answered"

    @workflow.update
    async def answer(self) -> str:
        """Ends the wait; the workflow then completes."""
        self._answered = True
        return "answered"
