"""The monthly run: starts the month's incentive payout for every ACTIVE partner, once each."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.incentives import IncentiveActivities
    from domain.incentive_models import PartnerPage
    from domain.incentives import (
        MonthlyRunRequest,
        MonthlyRunResult,
        payout_workflow_id,
        previous_period,
    )

from workflows.common import ACTIVITY_TIMEOUT, PARTNER_ID, RETRY
from workflows.incentive import IncentivePayoutWorkflow

# Set by the server on every workflow a Schedule starts: the nominal fire time.
SCHEDULED_START = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")


@workflow.defn
class IncentiveMonthlyRunWorkflow:
    """Started by the monthly Schedule (``partnerflow schedules apply``).

    Each payout is a child with the business id ``incentive-{partner}-{YYYY-MM}`` and a
    reuse policy that refuses a second run, so running the month twice (a retried schedule,
    a manual trigger) starts nothing twice. Children outlive the run (parent close: abandon).
    Partners are read a page at a time and the run continues as new per page, so the history
    stays small however many partners there are.
    """

    @workflow.run
    async def run(self, req: MonthlyRunRequest) -> MonthlyRunResult:
        """Starts one page of payouts, then continues with the next page."""
        period = req.period or previous_period(self._fired_at().date())
        page = await workflow.execute_activity_method(
            IncentiveActivities.list_active_partners,
            PartnerPage(after=req.after, limit=req.page_size),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=RETRY,
        )
        started, already = req.started, req.already_running
        for partner_id in page.ids:
            index = TypedSearchAttributes([SearchAttributePair(PARTNER_ID, partner_id)])
            try:
                await workflow.start_child_workflow(
                    IncentivePayoutWorkflow.run,
                    req.defaults.request(partner_id, period, "schedule"),
                    id=payout_workflow_id(partner_id, period),
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    parent_close_policy=workflow.ParentClosePolicy.ABANDON,
                    search_attributes=index if req.index_partners else None,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                already += 1
        if page.next_after is not None:
            workflow.continue_as_new(
                req.model_copy(
                    update={
                        "period": period,
                        "after": page.next_after,
                        "started": started,
                        "already_running": already,
                    }
                )
            )
        return MonthlyRunResult(period=period, started=started, already_running=already)

    def _fired_at(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(SCHEDULED_START)
        return scheduled if scheduled is not None else workflow.now()
