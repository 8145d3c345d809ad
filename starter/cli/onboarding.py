"""``partnerflow onboard``, ``onboarding ...``, ``path ...``, ``partner ...`` and the
``applications`` import: partner onboarding, development paths and certification."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from domain.certification import (
    CertificateKind,
    CertificationAsk,
    CertLevel,
    DevelopmentPath,
    PathStatus,
    PathView,
)
from domain.onboarding import (
    AmountEntry,
    BusinessInfo,
    OnboardingStatus,
    OnboardingView,
)
from domain.parties import Decision, PartnerType
from infra.config import Settings
from starter.cli.output import console, emit
from starter.cli.runner import DURATION_HELP, JSON_HELP, run_async
from starter.services import commands_partner as facts
from starter.services.commands import cli_input
from starter.services.commands_partner import (
    RecordCaseInput,
    RecordCertificateInput,
    RecordSolutionsInput,
)
from starter.services.commands_steps import refuse_wrong_amount
from starter.services.commands_vendor import PathInviteInput
from starter.services.commands_vendor import path_invite as path_invite_command
from starter.services.context import (
    AppContext,
    operator,
    temporal_errors,
)
from starter.services.errors import BadInputError, RefusedError
from starter.services.onboarding import (
    AgreementChoice,
    ReviewDecision,
    _parse_date,
    application_form,
    application_id,
    application_update,
    partner_report,
    path_update,
    require_ops,
    start_application,
)
from workflows.onboarding import OnboardingWorkflow

onboarding_app = typer.Typer(
    help="Steps of a partner application: bank certification, review, agreements, approval.",
    no_args_is_help=True,
)
path_app = typer.Typer(
    help="Development paths: invite a partner, join, ask for certification, decide, leave.",
    no_args_is_help=True,
)
partner_app = typer.Typer(
    help="A partner's facts: show them; ops record solutions, certificates and cases.",
    no_args_is_help=True,
)

As = Annotated[str, typer.Option("--as", help="The user acting (user id, or a customer id).")]
Json = Annotated[bool, typer.Option("--json", help=JSON_HELP)]
App = Annotated[
    str, typer.Argument(help="The application: its id (onboarding-<USCC>) or the company's USCC.")
]
PartnerOpt = Annotated[str, typer.Option("--partner", help="Partner id.")]
PathOpt = Annotated[DevelopmentPath, typer.Option("--path", help="The development path.")]


# ----- settings -> workflow inputs --------------------------------------------------------------


# ----- applications ---------------------------------------------------------------------------


def _print_application(v: OnboardingView, settings: Settings | None = None) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    console.print(
        f"  {v.company_name} ({v.uscc}), {v.partner_type.value}, contact {v.contact_email}"
    )
    if v.existing_partners:
        ids = ", ".join(f"{p.id} ({p.status})" for p in v.existing_partners)
        console.print(f"  note: the company already has partner account(s) {ids}")
    if v.bank_account:
        console.print(f"  bank account {v.bank_account}")
    if v.bank_entries_left is not None:
        console.print(f"  amount entries left before the lock: {v.bank_entries_left}")
        if settings is not None and v.bank_account:
            console.print(
                f"  (development fake bank: the deposit is on the statement in "
                f"{settings.fake_bank_dir}/)"
            )
    if v.review_due_at and v.status == OnboardingStatus.IN_REVIEW:
        console.print(
            f"  review due {v.review_due_at:%Y-%m-%d %H:%M} UTC"
            + (" (escalated to ops)" if v.escalated else "")
        )
    if v.signatures or v.signatures_due_at:
        signed = ", ".join(a.value for a in v.signatures) or "nothing yet"
        due = f", due {v.signatures_due_at:%Y-%m-%d %H:%M} UTC" if v.signatures_due_at else ""
        console.print(f"  signed: {signed}{due}")
    if v.approval_due_at and v.status == OnboardingStatus.AWAITING_APPROVAL:
        console.print(
            f"  final approval due {v.approval_due_at:%Y-%m-%d %H:%M} UTC"
            + (" (escalated to ops)" if v.escalated else "")
        )
    if v.partner_id:
        console.print(f"  partner {v.partner_id}, admin user {v.admin_user_id}")
    if v.reason:
        console.print(f"  reason: {v.reason}")


# ----- development paths ----------------------------------------------------------------------


def _print_path(v: PathView) -> None:
    console.print(f"[bold]{v.workflow_id}[/]: {v.status.value}")
    if v.expires_at and v.status == PathStatus.INVITED:
        console.print(f"  invitation valid until {v.expires_at:%Y-%m-%d %H:%M} UTC")
    if v.others_on_path:
        console.print(f"  other accounts of the company on it: {', '.join(v.others_on_path)}")
    if v.pending_step:
        console.print(f"  awaiting the ecosystem manager: {v.pending_step}")
    if v.certified:
        console.print(f"  certified: {', '.join(lv.value for lv in v.certified)}")
    if v.reason:
        console.print(f"  reason: {v.reason}")


# ----- partner facts ----------------------------------------------------------------------------


def _print_partner(r: dict[str, Any]) -> None:
    p = r["partner"]
    console.print(
        f"[bold]{p['id']}[/]: {p['company_name']} ({p['uscc']}), {p['type']}, {p['status']}"
    )
    console.print(
        f"  contact {p['contact_email']}; business certified: "
        f"{'yes' if p['business_certified'] else 'no'}"
    )
    console.print(
        f"  certified solutions {p['certified_solutions']} (advanced {p['advanced_solutions']})"
    )
    if r["same_company_accounts"]:
        console.print(f"  other accounts of the company: {', '.join(r['same_company_accounts'])}")
    for u in r["users"]:
        console.print(f"  user {u['id']} ({u['role']}) {u['email']}")
    for m in r["paths"]:
        console.print(f"  path {m['path']}: {m['status']}")
    for c in r["certifications"]:
        console.print(
            f"  certification {c['path']}/{c['level']}: {c['status']}"
            + (f" ({c['reason']})" if c["reason"] else "")
        )
    console.print(
        f"  staff certificates: {len(r['staff_certificates'])}, "
        f"cloud service cases: {len(r['cloud_service_cases'])}"
    )
    for path, levels in r["missing_for_certification"].items():
        for level, missing in levels.items():
            state = "threshold met" if not missing else "missing: " + "; ".join(missing)
            console.print(f"  {path} {level}: {state}")


# ----- the applications import -----------------------------------------------------------------


# ----- commands ---------------------------------------------------------------------------------


def register(app: typer.Typer) -> None:
    """Adds the onboarding, path and partner commands to the CLI."""

    @app.command()
    def onboard(
        company: Annotated[str, typer.Option(help="The company's registered name.")],
        uscc: Annotated[str, typer.Option(help="Unified social credit code (18 characters).")],
        email: Annotated[str, typer.Option(help="Contact email; the admin user gets it.")],
        partner_type: Annotated[
            PartnerType, typer.Option("--type", help="The kind of partner applied for.")
        ],
        as_user: As,
        contact_name: Annotated[str, typer.Option(help="Contact person's name.")] = "",
        as_json: Json = False,
    ) -> None:
        """Submit a partner application (one open application per company). Next step:
        `onboarding certify-bank`."""

        async def body(ctx: AppContext) -> None:
            form = application_form(company, uscc, email, partner_type, contact_name)
            view = await start_application(ctx, form, await ctx.actor(as_user))
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @onboarding_app.command("certify-bank")
    def certify_bank(
        application: App,
        bank_name: Annotated[str, typer.Option(help="The bank holding the account.")],
        bank_account: Annotated[str, typer.Option(help="Account number (8 to 30 digits).")],
        as_user: As,
        account_holder: Annotated[
            str | None, typer.Option(help="Account holder (default: the company name).")
        ] = None,
        company: Annotated[
            str | None, typer.Option(help="Company name, if it must be corrected.")
        ] = None,
        tax_id: Annotated[str | None, typer.Option(help="Tax id (default: the USCC).")] = None,
        address: Annotated[str, typer.Option(help="Registered address.")] = "",
        as_json: Json = False,
    ) -> None:
        """Submit the business information (company, tax, bank account) for certification;
        a small random amount is deposited into the account, to be entered with
        `onboarding enter-amount`. Also used to resubmit after the review asked for changes."""

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user)
            client = await ctx.client()
            handle = client.get_workflow_handle_for(
                OnboardingWorkflow.run, application_id(application)
            )
            async with temporal_errors("onboarding certify-bank"):
                current = OnboardingView.model_validate(await handle.query("status"))
            name = company or current.company_name
            try:
                info = BusinessInfo(
                    actor=actor,
                    company_name=name,
                    tax_id=tax_id or current.uscc,
                    registered_address=address,
                    bank_name=bank_name,
                    bank_account=bank_account,
                    account_holder=account_holder or name,
                )
            except ValidationError as exc:
                err = exc.errors()[0]
                field = str(err["loc"][0]).replace("_", "-") if err["loc"] else "value"
                raise BadInputError(f"--{field}: {err['msg']}") from None
            view = await application_update(ctx, application, "submit_business_info", info)
            emit(view, as_json, lambda: _print_application(view, ctx.settings))

        run_async(as_json, body)

    @onboarding_app.command("enter-amount")
    def enter_amount(
        application: App,
        amount: Annotated[str, typer.Option(help="The amount on the bank statement, e.g. 0.37.")],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Enter the amount deposited into the bank account; three wrong entries lock the
        certification until ops unlock it."""

        async def body(ctx: AppContext) -> None:
            try:
                value = Decimal(amount.strip())
                entry = AmountEntry(actor=await ctx.actor(as_user), amount=value)
            except (InvalidOperation, ValidationError):
                raise BadInputError(
                    f"--amount: {amount!r} is not an amount like 0.37 (CNY, two decimals)"
                ) from None
            view = await application_update(ctx, application, "enter_amount", entry)
            emit(view, as_json, lambda: _print_application(view))
            refuse_wrong_amount(view)

        run_async(as_json, body)

    def _decision(name: str, update: str, doc: str, reason_required: bool = False) -> None:
        @onboarding_app.command(name=name, help=doc)
        def command(
            application: App,
            as_user: As,
            reason: Annotated[
                str | None,
                typer.Option(help="Reason (required for a rejection; the applicant is told)."),
            ] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                if reason_required and not (reason or "").strip():
                    raise BadInputError("--reason: a rejection needs a reason")
                d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
                view = await application_update(ctx, application, update, d)
                emit(view, as_json, lambda: _print_application(view))

            run_async(as_json, body)

    _decision("unlock", "unlock", "Unlock a bank certification locked after wrong entries (ops).")
    _decision(
        "approve",
        "approve",
        "Final approval (ecosystem manager): the partner becomes ACTIVE and its admin "
        "user is created from the contact.",
    )
    _decision("reject", "reject", "Final rejection with --reason (ecosystem manager).", True)
    _decision("withdraw", "withdraw", "Withdraw a pending application (the applicant, or ops).")

    @onboarding_app.command()
    def review(
        application: App,
        decision: Annotated[ReviewDecision, typer.Option(help="approve or reject.")],
        as_user: As,
        reason: Annotated[
            str | None, typer.Option(help="Why (required to reject; the applicant is told).")
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Decide the business-information review (ecosystem manager; ops once escalated).
        A rejection sends the reason; the applicant edits and resubmits."""

        async def body(ctx: AppContext) -> None:
            if decision == ReviewDecision.REJECT and not (reason or "").strip():
                raise BadInputError("--reason: a rejection needs a reason")
            d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
            view = await application_update(ctx, application, f"review_{decision.value}", d)
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @onboarding_app.command()
    def sign(
        application: App,
        as_user: As,
        agreement: Annotated[
            AgreementChoice,
            typer.Option(help="The partner agreement, the integrity commitment, or both."),
        ] = AgreementChoice.BOTH,
        as_json: Json = False,
    ) -> None:
        """Sign the partner agreement and/or the integrity commitment (the applicant)."""

        async def body(ctx: AppContext) -> None:
            actor = await ctx.actor(as_user)
            updates = {
                AgreementChoice.PARTNER: ["sign_partner_agreement"],
                AgreementChoice.INTEGRITY: ["sign_integrity_commitment"],
                AgreementChoice.BOTH: ["sign_partner_agreement", "sign_integrity_commitment"],
            }[agreement]
            view: OnboardingView | None = None
            for update in updates:
                view = await application_update(
                    ctx, application, update, Decision(operator=operator(), actor=actor)
                )
            assert view is not None
            emit(view, as_json, lambda: _print_application(view))

        run_async(as_json, body)

    @path_app.command("invite")
    def path_invite(
        partner: PartnerOpt,
        path: PathOpt,
        as_user: As,
        validity: Annotated[
            str | None,
            typer.Option(
                help="How long the emailed link stays valid (default: "
                f"PARTNERFLOW_PATH_INVITATION_VALIDITY, 7d); {DURATION_HELP}."
            ),
        ] = None,
        as_json: Json = False,
    ) -> None:
        """Invite an ACTIVE partner to a development path (ecosystem manager or ops); its
        admin receives a signed link to join."""

        async def body(ctx: AppContext) -> None:
            # The console's path form validates with the same model.
            i = cli_input(PathInviteInput, partner=partner, path=path, validity=validity)
            view = (await path_invite_command(ctx, await ctx.actor(as_user), i)).result
            emit(view, as_json, lambda: _print_path(view))

        run_async(as_json, body)

    def _path_decision(name: str, update: str, doc: str, reason_required: bool = False) -> None:
        @path_app.command(name=name, help=doc)
        def command(
            partner: PartnerOpt,
            path: PathOpt,
            as_user: As,
            reason: Annotated[
                str | None, typer.Option(help="Reason (required for a rejection).")
            ] = None,
            as_json: Json = False,
        ) -> None:
            async def body(ctx: AppContext) -> None:
                if reason_required and not (reason or "").strip():
                    raise BadInputError("--reason: a rejection needs a reason")
                d = Decision(operator=operator(), actor=await ctx.actor(as_user), comment=reason)
                view = await path_update(ctx, partner, path, update, d)
                emit(view, as_json, lambda: _print_path(view))
                if view.status == PathStatus.REFUSED:
                    raise RefusedError(view.reason or "refused", rule="path_refused")

            run_async(as_json, body)

    _path_decision("join", "join", "Join the path the partner was invited to (its admin).")
    _path_decision("leave", "leave", "Leave the path; only before role certification (admin).")
    _path_decision(
        "approve",
        "approve",
        "Approve what awaits the ecosystem manager on the path: a certification "
        "request (threshold re-checked), or a further account of the company "
        "choosing the software path.",
    )
    _path_decision("reject", "reject", "Reject it, with --reason (ecosystem manager).", True)

    @path_app.command("certify")
    def path_certify(
        partner: PartnerOpt,
        path: PathOpt,
        level: Annotated[CertLevel, typer.Option(help="The certification level asked for.")],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Ask for a certification level (partner admin): checked against the path's
        threshold now; refused with what is missing, else sent to the ecosystem manager."""

        async def body(ctx: AppContext) -> None:
            ask = CertificationAsk(actor=await ctx.actor(as_user), level=level)
            view = await path_update(ctx, partner, path, "request_certification", ask)
            emit(view, as_json, lambda: _print_path(view))

        run_async(as_json, body)

    @partner_app.command("show")
    def partner_show(
        partner: Annotated[str, typer.Argument(help="Partner id.")], as_json: Json = False
    ) -> None:
        """A partner's account, users, paths, certifications and the facts they read, with
        what each path level still needs."""

        async def body(ctx: AppContext) -> None:
            report = await partner_report(ctx, partner)
            emit(report, as_json, lambda: _print_partner(report))

        run_async(as_json, body)

    @partner_app.command("record-solutions")
    def record_solutions(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        certified: Annotated[int, typer.Option(help="Certified cloud software solutions.", min=0)],
        advanced: Annotated[int, typer.Option(help="Of which advanced certified.", min=0)],
        as_user: As,
        as_json: Json = False,
    ) -> None:
        """Record the partner's certified solution counts (ops); path requests re-read them."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            i = cli_input(
                RecordSolutionsInput, partner=partner, certified=certified, advanced=advanced
            )
            out = (await facts.record_solutions(ctx, actor, i)).result
            emit(out, as_json, f"{partner}: {certified} certified solution(s), {advanced} advanced")

        run_async(as_json, body)

    @partner_app.command("record-certificate")
    def record_certificate(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        holder: Annotated[str, typer.Option(help="The person's personal account id.")],
        kind: Annotated[CertificateKind, typer.Option(help="Certificate.")],
        number: Annotated[str, typer.Option(help="Certificate number (unique).")],
        as_user: As,
        holder_name: Annotated[str, typer.Option(help="The person's name.")] = "",
        issued: Annotated[str | None, typer.Option(help="Issue date, YYYY-MM-DD.")] = None,
        expires: Annotated[str | None, typer.Option(help="Expiry date, YYYY-MM-DD.")] = None,
        as_json: Json = False,
    ) -> None:
        """Record a staff member's certificate held on a personal account (ops)."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            i = cli_input(
                RecordCertificateInput,
                partner=partner,
                holder=holder,
                kind=kind,
                number=number,
                holder_name=holder_name,
                issued=_parse_date(issued, "--issued"),
                expires=_parse_date(expires, "--expires"),
            )
            out = (await facts.record_certificate(ctx, actor, i)).result
            emit(out, as_json, f"{partner}: {kind.value} {number} of {holder} recorded")

        run_async(as_json, body)

    @partner_app.command("record-case")
    def record_case(
        partner: Annotated[str, typer.Argument(help="Partner id.")],
        case_id: Annotated[str, typer.Option(help="Case id (unique).")],
        title: Annotated[str, typer.Option(help="What was delivered.")],
        completed: Annotated[str, typer.Option(help="Completion date, YYYY-MM-DD.")],
        as_user: As,
        customer: Annotated[str, typer.Option(help="The customer served.")] = "",
        as_json: Json = False,
    ) -> None:
        """Record a cloud service case the partner delivered (ops)."""

        async def body(ctx: AppContext) -> None:
            actor = await require_ops(ctx, as_user)
            i = cli_input(
                RecordCaseInput,
                partner=partner,
                case_id=case_id,
                title=title,
                completed=_parse_date(completed, "--completed"),
                customer=customer,
            )
            out = (await facts.record_case(ctx, actor, i)).result
            emit(out, as_json, f"{partner}: case {case_id} recorded")

        run_async(as_json, body)

    app.add_typer(onboarding_app, name="onboarding")
    app.add_typer(path_app, name="path")
    app.add_typer(partner_app, name="partner")
