"""The ``applications`` importer: starts an onboarding workflow per row."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from domain.onboarding import (
    ApplicationForm,
    OnboardingRequest,
    Uscc,
)
from domain.parties import PartnerType
from domain.reference import Email, Ident
from domain.text import N_, MarkedText
from domain.types import Name, Text
from infra.temporal import connect
from starter.imports.base import (
    Importer,
    ImportRefusedError,
    ImportResult,
    RowError,
    duplicates,
    register_importer,
)
from starter.services.actors import find_actor
from starter.services.context import (
    load_settings,
)
from starter.services.errors import CliError
from starter.services.onboarding import (
    application_id,
    onboarding_timing,
    open_application,
)
from workflows.onboarding import OnboardingWorkflow


class ApplicationRow(BaseModel):
    """One application of a bulk import (the company is validated like ``onboard``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    company_name: Name
    uscc: Uscc
    contact_email: Email
    contact_name: Annotated[Text, Field(max_length=200)] = ""
    type: PartnerType
    submitted_by: Ident

    def form(self) -> ApplicationForm:
        """The application form (validated again, so the USCC check applies)."""
        return ApplicationForm(
            company_name=self.company_name,
            uscc=self.uscc,
            contact_email=self.contact_email,
            contact_name=self.contact_name,
            partner_type=self.type,
        )


async def _check_applications(s: AsyncSession, rows: list[ApplicationRow]) -> list[RowError]:
    errors: list[RowError] = []
    for n, row in enumerate(rows, start=1):
        existing = await open_application(s, row.uscc)
        if existing is not None:
            errors.append(
                RowError(
                    n,
                    "uscc",
                    MarkedText(N_("an application is open: %(id)s"), id=existing.workflow_id),
                )
            )
        try:
            await find_actor(s, row.submitted_by)
        except CliError as exc:  # unknown, or a deactivated user: the same rule as `--as`
            errors.append(RowError(n, "submitted_by", exc.message))
    errors += duplicates(rows, lambda r: r.uscc, "uscc")
    return errors


async def _start_applications(
    s: AsyncSession, rows: list[ApplicationRow], result: ImportResult
) -> None:
    """Starts one onboarding workflow per row, after checking that none is running."""
    settings = load_settings()
    client: Client = await connect(settings)
    forms = [r.form() for r in rows]
    running: list[RowError] = []
    for n, form in enumerate(forms, start=1):
        try:
            desc = await client.get_workflow_handle(application_id(form.uscc)).describe()
        except RPCError:
            continue  # never started: free
        if desc.status == WorkflowExecutionStatus.RUNNING:
            running.append(
                RowError(
                    n, "uscc", MarkedText(N_("%(id)s is running"), id=application_id(form.uscc))
                )
            )
    if running:
        raise ImportRefusedError(Path(result.file), running)
    timing = onboarding_timing(settings)
    for row, form in zip(rows, forms, strict=True):
        actor = await find_actor(s, row.submitted_by)
        await client.start_workflow(
            OnboardingWorkflow.run,
            OnboardingRequest(form=form, submitted_by=actor, timing=timing),
            id=application_id(form.uscc),
            task_queue=settings.task_queue,
        )
        result.inserted += 1
        result.notes.append(MarkedText(N_("%(id)s started"), id=application_id(form.uscc)))


APPLICATIONS = register_importer(
    Importer(
        "applications",
        ApplicationRow,
        _start_applications,
        _check_applications,
        transactional=False,
        help="Partner applications: company_name, uscc, contact_email, contact_name, type, "
        "submitted_by; each starts an onboarding workflow",
    )
)
