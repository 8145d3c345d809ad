"""The import service's preview and chunked writes, for every kind that writes reference
data: a first import inserts, its preview before says so, a re-import changes nothing and
its preview says that too; extras survive the chunks."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from infra.tables import Customer
from starter.imports.base import CHUNK_ROWS, ImportRefusedError
from starter.services import imports
from starter.services.context import AppContext
from tests.factories import add_binding

Sessions = async_sessionmaker[AsyncSession]

# In the order their references need: (kind, file name, text).
FILES = [
    (
        "partners",
        "p.csv",
        "id,company_name,uscc,contact_email,type\n"
        "P-1,Alpha Cloud,91350100M000100Y43,a@alpha.test,solution_provider\n"
        "P-2,Beta Resale,91350100M000100Y43,b@beta.test,cloud_reseller\n",
    ),
    (
        "customers",
        "c.csv",
        "id,name,email,has_credit_account\nC-1,One,c1@x.test,true\nC-2,Two,c2@x.test,false\n",
    ),
    (
        "partner-users",
        "u.csv",
        "id,name,email,role,partner_id\npa-1,Ann,ann@x.test,partner_admin,P-1\n",
    ),
    (
        "consumption",
        "l.csv",
        "line_id,customer_id,consumed_on,amount,payment_kind,site,product_line\n"
        "L-1,C-1,2026-10-03,1200.50,cash,china,cloud_service\n"
        "L-2,C-2,2026-10-04,-20.00,voucher,overseas,marketplace\n",
    ),
    (
        "bill-status",
        "b.csv",
        "partner_id,period,all_paid,paid_on\nP-1,2026-10,true,2026-11-02\nP-2,2026-10,false,\n",
    ),
    (
        "incentive-rates",
        "r.csv",
        "partner_type,site,rate\nsolution_provider,china,0.0500\ncloud_reseller,overseas,0.03\n",
    ),
    (
        "customer-vouchers",
        "v.csv",
        "id,customer_id,kind,issuer,issuer_partner_id,balance,issued_at\n"
        "V-1,C-1,voucher,partner,P-1,300.00,2026-11-01T08:00:00+08:00\n"
        "V-2,C-2,cash_coupon,vendor,,50.00,\n",
    ),
    (
        "subscriptions",
        "s.csv",
        "order_id,customer_id,product,amount,billing,expires_at,auto_renew\n"
        "O-1,C-1,ECS,60000.00,yearly,2027-01-10T00:00:00+08:00,false\n",
    ),
]


@pytest.fixture
def ctx(sessions: Sessions, tmp_path: Path) -> AppContext:
    from infra.config import Settings

    context = AppContext(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'test.db'}", _env_file=None)
    )
    context._sessions = sessions  # the test's fresh database
    return context


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


async def test_every_kind_previews_inserts_then_nothing_after_the_import(
    ctx: AppContext, tmp_path: Path
) -> None:
    for kind, name, text in FILES:
        path = write(tmp_path, name, text)
        rows = text.count("\n") - 1
        before = await imports.preview(ctx, kind, path)
        assert (before.inserts, before.updates, before.unchanged) == (rows, 0, 0), kind
        assert [c.row for c in before.changes] == list(range(1, rows + 1)), kind
        result = await imports.run(ctx, kind, path)
        assert result.inserted == rows, kind
        after = await imports.preview(ctx, kind, path)
        assert (after.inserts, after.updates, after.unchanged) == (0, 0, rows), (
            kind,
            after.changes,
        )
        again = await imports.run(ctx, kind, path)  # existing rows found: updated, not inserted
        assert (again.inserted, again.updated) == (0, rows), kind


async def test_preview_names_changed_fields_and_writes_nothing(
    ctx: AppContext, sessions: Sessions, tmp_path: Path
) -> None:
    for kind, name, text in FILES[:2]:
        await imports.run(ctx, kind, write(tmp_path, name, text))
    changed = (
        FILES[1][2].replace("c1@x.test,true", "c1@new.test,false") + "C-3,Three,c3@x.test,false\n"
    )
    preview = await imports.preview(ctx, "customers", write(tmp_path, "c2.csv", changed))
    assert (preview.inserts, preview.updates, preview.unchanged) == (1, 1, 1)
    update = preview.changes[0]
    assert (update.row, update.key, update.action) == (1, "C-1", "update")
    assert [(f.field, f.old, f.new) for f in update.fields] == [
        ("email", "c1@x.test", "c1@new.test"),
        ("has_credit_account", "true", "false"),
    ]
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 2
        assert (await s.get(Customer, "C-1")).email == "c1@x.test"  # type: ignore[union-attr]


async def test_bad_rows_refuse_the_preview_as_the_import(ctx: AppContext, tmp_path: Path) -> None:
    users = "id,name,email,role,partner_id\npa-1,Ann,ann@x.test,partner_admin,P-404\n"
    with pytest.raises(ImportRefusedError) as refused:
        await imports.preview(ctx, "partner-users", write(tmp_path, "u.csv", users))
    assert [(e.row, e.field) for e in refused.value.errors] == [(1, "partner_id")]


async def test_chunks_keep_every_extra_and_report_progress(ctx: AppContext, tmp_path: Path) -> None:
    n = CHUNK_ROWS * 2 + 50
    rows = "".join(f"C-{i},Name {i},c{i}@x.test\n" for i in range(n))
    await imports.run(ctx, "customers", write(tmp_path, "c.csv", "id,name,email\n" + rows))
    moved = rows.replace("c0@x.test", "zero@x.test").replace(f"c{n - 1}@x.test", "last@x.test")
    seen: list[tuple[int, int]] = []
    result = await imports.run(
        ctx,
        "customers",
        write(tmp_path, "c2.csv", "id,name,email\n" + moved),
        lambda done, total: seen.append((done, total)),
    )
    assert result.extra["email_changed"] == {"C-0": "zero@x.test", f"C-{n - 1}": "last@x.test"}
    assert seen == [(0, n), (CHUNK_ROWS, n), (2 * CHUNK_ROWS, n), (n, n)]


async def test_allocations_preview_the_binding_they_change(
    ctx: AppContext, sessions: Sessions, tmp_path: Path
) -> None:
    for kind, name, text in FILES[:2]:
        await imports.run(ctx, kind, write(tmp_path, name, text))
    await add_binding(sessions, "P-2", "C-2", "resale")
    text = "partner_id,customer_id,allocated_balance\nP-2,C-2,800.00\n"
    preview = await imports.preview(ctx, "resale-allocations", write(tmp_path, "a.csv", text))
    assert (preview.inserts, preview.updates, preview.unchanged) == (0, 1, 0)
    change = preview.changes[0]
    assert (change.row, change.table) == (None, "bindings")  # a binding id, not a file key
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("allocated_balance", "0.00", "800.00")
    ]
    await imports.run(ctx, "resale-allocations", tmp_path / "a.csv")
    again = await imports.preview(ctx, "resale-allocations", tmp_path / "a.csv")
    assert (again.updates, again.unchanged) == (0, 1)
