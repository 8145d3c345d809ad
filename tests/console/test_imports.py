"""The imports page over HTTP: upload, preview (errors or changes), confirm, progress; ops
only; CSRF; the size limit. Real database, the console's own background steps."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from domain.parties import Role
from infra.config import Settings
from infra.tables import Customer
from tests.console.helpers import Sessions, csrf_in, session_for
from tests.factories import add_customer, add_partner, add_user
from tests.harness import eventually

CUSTOMERS = "id,name,email,has_credit_account\n"


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Uploads under the test's directory, and a small size limit to test it."""
    return settings.model_copy(
        update={"console_import_dir": tmp_path / "imports", "console_import_max_bytes": 64 * 1024}
    )


@pytest.fixture
async def ops_web(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions
) -> httpx.AsyncClient:
    await add_user(sessions, "ops-1", Role.OPS)
    await session_for(web, settings, "ops-1")
    return web


async def upload(
    web: httpx.AsyncClient, kind: str, name: str, content: bytes, csrf: str | None = None
) -> httpx.Response:
    form = await web.get("/imports")
    assert form.status_code == 200, form.text[:500]
    token = csrf if csrf is not None else csrf_in(form.text)
    return await web.post(
        "/imports/preview",
        data={"csrf": token, "kind": kind},
        files={"file": (name, content, "text/csv")},
    )


async def follow(web: httpx.AsyncClient, answer: httpx.Response) -> httpx.Response:
    """The job page the POST redirected to, once its step has finished."""
    assert answer.status_code == 303, answer.text[:1000]
    where = answer.headers["location"]
    assert re.fullmatch(r"/imports/[\w-]+", where)

    async def settled() -> httpx.Response:
        progress = await web.get(f"{where}/progress")
        assert progress.status_code == 200 and not progress.json()["running"]
        return await web.get(where)

    return await eventually(settled)


async def customers(sessions: Sessions) -> dict[str, Customer]:
    async with sessions() as s:
        return {c.id: c for c in (await s.scalars(select(Customer))).all()}


async def test_a_bad_row_is_named_and_nothing_is_written(
    ops_web: httpx.AsyncClient, sessions: Sessions
) -> None:
    text = (
        CUSTOMERS
        + "C-1,One,c1@x.test,false\nC-2,Two,not-an-email,false\nC-3,Three,c3@x.test,maybe\n"
    )
    page = await follow(ops_web, await upload(ops_web, "customers", "c.csv", text.encode()))
    assert page.status_code == 200
    assert "2 problem(s) in the file; nothing was imported." in page.text
    errors = re.search(
        r'<table class="tasks all-columns" id="errors">(.*?)</table>', page.text, re.S
    )
    assert errors is not None
    assert re.search(r"<td>2</td><td><code>email</code></td><td>[^<]*email", errors.group(1))
    assert re.search(r"<td>3</td><td><code>has_credit_account</code></td>", errors.group(1))
    assert "Confirm the import" not in page.text
    assert await customers(sessions) == {}


async def test_preview_counts_inserts_and_updates_then_confirm_writes(
    ops_web: httpx.AsyncClient, sessions: Sessions
) -> None:
    await add_customer(sessions, "C-1", email="old@x.test")
    await add_customer(sessions, "C-2", name="C-2 Ltd", email="c-2@customer.test")
    text = (
        CUSTOMERS
        + "C-1,C-1 Ltd,new@x.test,true\n"  # update: email and credit account
        + "C-2,C-2 Ltd,c-2@customer.test,false\n"  # unchanged
        + "C-3,Three,c3@x.test,false\n"  # insert
    )
    page = await follow(ops_web, await upload(ops_web, "customers", "c.csv", text.encode()))
    assert "Nothing has been written yet" in page.text
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", page.text))
    assert facts == {"Rows to insert": "1", "Rows to update": "1", "Rows unchanged": "1"}
    rows = re.findall(r'<tr data-action="(\w+)"><td>(\d+)</td>.*?<code>([^<]+)</code>', page.text)
    assert rows == [("update", "1", "C-1"), ("insert", "3", "C-3")]
    assert "<del>old@x.test</del> → <ins>new@x.test</ins>" in page.text
    assert "<del>false</del> → <ins>true</ins>" in page.text
    before = await customers(sessions)
    assert set(before) == {"C-1", "C-2"} and before["C-1"].email == "old@x.test"

    job_id = re.search(r'name="id" value="([\w-]+)"', page.text)
    assert job_id is not None
    done = await follow(
        ops_web,
        await ops_web.post(
            "/imports/confirm", data={"csrf": csrf_in(page.text), "id": job_id.group(1)}
        ),
    )
    assert "Imported 3 rows: 1 new, 2 updated." in done.text
    after = await customers(sessions)
    assert set(after) == {"C-1", "C-2", "C-3"}
    assert after["C-1"].email == "new@x.test" and after["C-1"].has_credit_account
    # Confirming again imports nothing twice: the page shows the summary.
    again = await ops_web.post(
        "/imports/confirm", data={"csrf": csrf_in(page.text), "id": job_id.group(1)}
    )
    assert again.status_code == 303 and again.headers["location"] == f"/imports/{job_id.group(1)}"


async def test_a_large_file_is_imported_in_the_background_with_progress(
    ops_web: httpx.AsyncClient, sessions: Sessions
) -> None:
    text = CUSTOMERS + "".join(f"C-{n},Name {n},c{n}@x.test,false\n" for n in range(1500))
    page = await follow(ops_web, await upload(ops_web, "customers", "big.csv", text.encode()))
    assert "rows: 1500" in page.text and "Nothing has been written yet" in page.text
    job_id = re.search(r'name="id" value="([\w-]+)"', page.text)
    assert job_id is not None
    answer = await ops_web.post(
        "/imports/confirm", data={"csrf": csrf_in(page.text), "id": job_id.group(1)}
    )
    seen = (await ops_web.get(f"/imports/{job_id.group(1)}/progress")).json()
    assert seen["total"] in (0, 1500) and seen["state"] in ("importing", "done")
    if seen["running"]:  # the machine was slow: the page polls, and refreshes without JS
        running = await ops_web.get(f"/imports/{job_id.group(1)}")
        assert 'id="progress"' in running.text and 'http-equiv="refresh"' in running.text
    done = await follow(ops_web, answer)
    assert "Imported 1500 rows: 1500 new, 0 updated." in done.text
    assert (await ops_web.get(f"/imports/{job_id.group(1)}/progress")).json() == {
        "id": job_id.group(1),
        "state": "done",
        "running": False,
        "done": 1500,
        "total": 1500,
        "percent": 100,
    }
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(Customer)) == 1500


@pytest.mark.parametrize("who", ["pa-1", "fin-1", "C-1"])
async def test_others_get_404(
    web: httpx.AsyncClient, settings: Settings, sessions: Sessions, who: str
) -> None:
    await add_partner(sessions, "P-1")
    await add_customer(sessions, "C-1")
    await add_user(sessions, "pa-1", Role.PARTNER_ADMIN, partner_id="P-1")
    await add_user(sessions, "fin-1", Role.FINANCE)
    await session_for(web, settings, who)
    inbox = await web.get("/")
    assert inbox.status_code == 200 and 'href="/imports"' not in inbox.text
    for method, path in [
        ("GET", "/imports"),
        ("POST", "/imports/preview"),
        ("POST", "/imports/confirm"),
        ("GET", "/imports/abc"),
        ("GET", "/imports/abc/progress"),
    ]:
        answer = await web.request(method, path, data={"csrf": csrf_in(inbox.text)})
        assert answer.status_code == 404, (method, path)
    assert set(await customers(sessions)) == {"C-1"}


async def test_signed_out_goes_to_sign_in(web: httpx.AsyncClient) -> None:
    answer = await web.get("/imports")
    assert answer.status_code == 303 and answer.headers["location"] == "/signin?next=/imports"


async def test_csrf_refused_and_another_session_sees_nothing(
    ops_web: httpx.AsyncClient,
    other_web: httpx.AsyncClient,
    settings: Settings,
    sessions: Sessions,
) -> None:
    text = (CUSTOMERS + "C-1,One,c1@x.test,false\n").encode()
    refused = await upload(ops_web, "customers", "c.csv", text, csrf="0" * 64)
    assert refused.status_code == 403 and "Nothing was done" in refused.text
    page = await follow(ops_web, await upload(ops_web, "customers", "c.csv", text))
    job_id = re.search(r'name="id" value="([\w-]+)"', page.text)
    assert job_id is not None
    # No token: refused, nothing imported.
    answer = await ops_web.post("/imports/confirm", data={"id": job_id.group(1)})
    assert answer.status_code == 403
    # The same ops user in another session: the upload is bound to the first one.
    await session_for(other_web, settings, "ops-1")
    assert (await other_web.get(f"/imports/{job_id.group(1)}")).status_code == 404
    form = await other_web.get("/imports")
    other = await other_web.post(
        "/imports/confirm", data={"csrf": csrf_in(form.text), "id": job_id.group(1)}
    )
    assert other.status_code == 404 and "This upload has expired" in other.text
    assert await customers(sessions) == {}


async def test_too_large_and_wrong_files_are_refused_at_the_form(
    ops_web: httpx.AsyncClient, settings: Settings, tmp_path: Path
) -> None:
    big = (CUSTOMERS + "C-1,One,c1@x.test,false\n" * 3000).encode()
    assert len(big) > settings.console_import_max_bytes
    answer = await upload(ops_web, "customers", "big.csv", big)
    assert answer.status_code == 413 and 'id="e-file"' in answer.text
    assert "The file is larger than 64 KB; nothing was uploaded." in answer.text
    # Far too large: refused on its Content-Length, before the body is read.
    huge = await upload(ops_web, "customers", "huge.csv", big * 3)
    assert huge.status_code == 413 and "larger than 64 KB" in huge.text
    wrong = await upload(ops_web, "customers", "c.xlsx", b"PK\x03\x04")
    assert wrong.status_code == 422 and "c.xlsx is not a .csv or .json file." in wrong.text
    named = await upload(ops_web, "customers", "<img src=x>.xlsx", b"x")
    assert named.status_code == 422 and "&lt;img src=x&gt;.xlsx is not" in named.text
    no_kind = await upload(ops_web, "applications", "c.csv", b"a\n1\n")
    assert no_kind.status_code == 422 and 'id="e-kind"' in no_kind.text
    assert not list((tmp_path / "imports").glob("*"))  # nothing kept


async def test_the_page_in_chinese(ops_web: httpx.AsyncClient) -> None:
    form = await ops_web.get("/imports")
    switched = await ops_web.post(
        "/lang", data={"lang": "zh-CN", "next": "/imports", "csrf": csrf_in(form.text)}
    )
    assert switched.status_code == 303
    page = await ops_web.get("/imports")
    assert '<html lang="zh-CN">' in page.text
    for text in ("导入", "文件内容", "检查文件", "客户", "伙伴每月账单支付状态"):
        assert text in page.text
    content = (CUSTOMERS + "C-1,One,c1@x.test,false\n").encode()
    preview = await follow(ops_web, await upload(ops_web, "customers", "c.csv", content))
    assert "尚未写入任何数据" in preview.text and "确认导入" in preview.text


async def test_a_json_file_previews_like_a_csv(ops_web: httpx.AsyncClient) -> None:
    content = b'[{"id": "C-7", "name": "Seven", "email": "c7@x.test"}]'
    page = await follow(ops_web, await upload(ops_web, "customers", "export.JSON", content))
    assert "Nothing has been written yet" in page.text
    assert re.findall(r'<tr data-action="(\w+)"><td>(\d+)</td>', page.text) == [("insert", "1")]
    bad = await follow(ops_web, await upload(ops_web, "customers", "bad.json", b"{not json"))
    assert "The file was refused; nothing was imported." in bad.text
    assert "bad.json: not valid JSON" in bad.text


def test_stored_names_are_safe() -> None:
    from starter.console.import_jobs import safe_name

    assert safe_name("../../etc/passwd.csv") == "passwd.csv"
    assert safe_name("C:\\exports\\客户 2026-12.CSV") == "客户_2026-12.csv"
    assert safe_name("a b<c>.json") == "a_b_c.json"
    assert safe_name(".csv") == "upload.csv"


async def confirm(web: httpx.AsyncClient, page: httpx.Response) -> httpx.Response:
    job_id = re.search(r'name="id" value="([\w-]+)"', page.text)
    assert job_id is not None, page.text[:2000]
    answer = await web.post(
        "/imports/confirm", data={"csrf": csrf_in(page.text), "id": job_id.group(1)}
    )
    return await follow(web, answer)


async def test_the_import_checks_again_at_confirmation(
    ops_web: httpx.AsyncClient, sessions: Sessions
) -> None:
    from sqlalchemy import delete

    from infra.tables import Partner, User

    await add_partner(sessions, "P-1")
    users = b"id,name,email,role,partner_id\npa-1,Ann,ann@x.test,partner_admin,P-1\n"
    page = await follow(ops_web, await upload(ops_web, "partner-users", "u.csv", users))
    assert "Nothing has been written yet" in page.text
    async with sessions.begin() as s:  # the partner goes away between preview and confirm
        await s.execute(delete(Partner).where(Partner.id == "P-1"))
    done = await confirm(ops_web, page)
    assert "1 problem(s) in the file; nothing was imported." in done.text
    assert "<td>1</td><td><code>partner_id</code></td><td>no partner P-1" in done.text
    async with sessions() as s:
        assert await s.get(User, "pa-1") is None


async def test_an_unexpected_failure_is_shown_and_writes_nothing(
    ops_web: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from starter.services import imports

    content = (CUSTOMERS + "C-1,One,c1@x.test,false\n").encode()
    page = await follow(ops_web, await upload(ops_web, "customers", "c.csv", content))

    async def broken(*args: object) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(imports, "run", broken)
    done = await confirm(ops_web, page)
    assert "The import failed; nothing was imported." in done.text
    assert "RuntimeError: database went away" in done.text
    assert await customers(sessions) == {}


def test_uploads_expire_and_leftovers_are_deleted(tmp_path: Path) -> None:
    import os
    from datetime import timedelta

    from starter.console.import_jobs import ImportJobs

    jobs = ImportJobs(tmp_path / "imports", timedelta(minutes=30))
    job = jobs.create("session-1", "ops-1", "customers", "c.csv", b"id\n")
    assert job.path.read_bytes() == b"id\n" and job.path.name == "c.csv"
    assert jobs.get(job.id, "session-1") is job
    assert jobs.get(job.id, "session-2") is None  # bound to its session
    job.state = "preview"
    job.created_at -= timedelta(minutes=31)
    assert jobs.get(job.id, "session-1") is None
    assert not job.path.parent.exists()
    # A folder a restarted console left behind goes once it is older than the TTL.
    leftover = tmp_path / "imports" / "left-behind"
    leftover.mkdir()
    old = leftover.stat().st_mtime - 31 * 60
    os.utime(leftover, (old, old))
    jobs.create("session-1", "ops-1", "customers", "d.csv", b"id\n")
    assert not leftover.exists()
