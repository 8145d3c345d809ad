"""``infra.db.insert_ignore``: the idempotent insert every activity uses is compiled once per
shape (SQLAlchemy 2.0 caches no dialect insert by itself) and still inserts only once."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from infra.db import insert_ignore

META = MetaData()
T = Table(
    "t",
    META,
    Column("id", Integer, primary_key=True),
    Column("k", String, unique=True),
    Column("j", String, unique=True),
)


async def test_cacheable_per_conflict_target_on_both_dialects() -> None:
    for url in ("sqlite+aiosqlite://", "postgresql+asyncpg://nobody@127.0.0.1:1/none"):
        engine = create_async_engine(url)  # compiling needs the dialect, not a connection
        async with AsyncSession(engine) as s:
            on_k = insert_ignore(s, T, ["k"]).values(k="a", j="x")
            on_j = insert_ignore(s, T, ["j"]).values(k="a", j="x")
            key_k, key_j = on_k._generate_cache_key(), on_j._generate_cache_key()
            assert key_k is not None and key_j is not None, url
            assert key_k != key_j  # never the compiled SQL of the other target
            assert key_k == insert_ignore(s, T, ["k"]).values(k="b", j="y")._generate_cache_key()
            bind = s.get_bind()
            assert "ON CONFLICT (k) DO NOTHING" in str(on_k.compile(bind))
            assert "ON CONFLICT (j) DO NOTHING" in str(on_j.compile(bind))
        await engine.dispose()


async def test_a_second_insert_of_the_same_key_inserts_nothing() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    async with engine.begin() as conn:
        await conn.run_sync(META.create_all)
    async with AsyncSession(engine) as s:
        ids = [
            (await s.execute(insert_ignore(s, T, ["k"]).values(k="a", j=f"{i}").returning(T.c.id)))
            .scalars()
            .first()
            for i in range(3)
        ]
        assert ids == [1, None, None]
        assert [tuple(r) for r in (await s.execute(select(T.c.k, T.c.j))).all()] == [("a", "0")]
    await engine.dispose()
