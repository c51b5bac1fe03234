from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import Base


async def test_models_match_migrations(db_engine: AsyncEngine) -> None:
    def compare(connection):  # type: ignore[no-untyped-def]
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with db_engine.connect() as connection:
        differences = await connection.run_sync(compare)
    assert differences == []
