"""The daily scan: finds big orders near expiry and starts one renewal workflow per order.

Pages of subscriptions are read by one activity and their candidates started in a batch by
another (with the worker's client), so the scan's history holds a few events per page, not
per order; after ``pages_per_run`` pages it continues as new with its counts. Running it
twice the same day starts nothing new: renewal workflow ids are per order and expiry date,
and the task rows remember what was ever started.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.renewals import RenewalActivities
    from domain.renewal_models import CandidateQuery, StartRenewals
    from domain.renewals import RenewalScanRequest, RenewalScanResult, ScanProgress

from workflows.common import ACTIVITY_TIMEOUT, RETRY

# Starting a batch is one RPC per order; it heartbeats after each start.
START_BATCH_TIMEOUT = timedelta(minutes=10)
START_BATCH_HEARTBEAT = timedelta(minutes=1)


@workflow.defn
class RenewalScanWorkflow:
    """Scans subscriptions page by page and starts renewal workflows in batches."""

    @workflow.init
    def __init__(self, req: RenewalScanRequest) -> None:
        self._progress = req.progress.model_copy()

    @workflow.run
    async def run(self, req: RenewalScanRequest) -> RenewalScanResult:
        """Pages through the candidates; continues as new every ``pages_per_run`` pages."""
        as_of = req.as_of or workflow.now()
        p = self._progress
        queue = req.renewal_task_queue or workflow.info().task_queue
        pages_this_run = 0
        while True:
            page = await workflow.execute_activity_method(
                RenewalActivities.find_renewal_candidates,
                CandidateQuery(
                    as_of=as_of,
                    policy=req.policy,
                    after_order_id=p.after_order_id,
                    limit=req.page_size,
                ),
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
            )
            batch = await workflow.execute_activity_method(
                RenewalActivities.start_renewals,
                StartRenewals(candidates=page.candidates, timings=req.timings, task_queue=queue),
                start_to_close_timeout=START_BATCH_TIMEOUT,
                heartbeat_timeout=START_BATCH_HEARTBEAT,
                retry_policy=RETRY,
            )
            p.pages += 1
            p.scanned += page.scanned
            p.candidates += len(page.candidates)
            p.started += batch.started
            p.already_existing += batch.already_existing
            p.after_order_id = page.next_after
            pages_this_run += 1
            if page.next_after is None:
                break
            if (
                pages_this_run >= req.pages_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                workflow.continue_as_new(req.model_copy(update={"as_of": as_of, "progress": p}))
        return RenewalScanResult(
            as_of=as_of,
            scanned=p.scanned,
            candidates=p.candidates,
            started=p.started,
            already_existing=p.already_existing,
        )

    @workflow.query
    def status(self) -> ScanProgress:
        """Counts so far."""
        return self._progress
