"""Encryption-key rotation through `linkedin-ads rotate-keys`, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.security import TokenCipher, TokenDecryptionError, generate_key
from app.core.settings import DEVELOPMENT_ENCRYPTION_KEY
from tests.conftest import ROOT, Service, running_service
from tests.connections.test_tokens import connect, first_account


def rotate_keys(database_url: str, keys: list[str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS": ",".join(keys),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "rotate-keys"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def stored_tokens(engine: AsyncEngine) -> list[bytes]:
    async with engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT access_token_encrypted, refresh_token_encrypted FROM connections")
            )
        ).all()
    return [bytes(value) for row in rows for value in row if value is not None]


async def test_rotated_tokens_need_new_key_only(
    service: Service, database_url: str, db_engine: AsyncEngine
) -> None:
    await connect(service.api)
    await connect(service.other)
    old = TokenCipher([SecretStr(DEVELOPMENT_ENCRYPTION_KEY)])
    plaintexts = sorted(old.decrypt(value) for value in await stored_tokens(db_engine))
    assert len(plaintexts) == 4
    new_key = generate_key()

    result = rotate_keys(database_url, [new_key, DEVELOPMENT_ENCRYPTION_KEY])

    assert result.returncode == 0, result.stderr
    assert "connections with tokens: 2" in result.stdout
    assert "tokens re-encrypted with the first key: 4" in result.stdout
    assert "tokens already encrypted with the first key: 0" in result.stdout
    new = TokenCipher([SecretStr(new_key)])
    rotated = await stored_tokens(db_engine)
    assert sorted(new.decrypt(value) for value in rotated) == plaintexts
    for value in rotated:
        with pytest.raises(TokenDecryptionError):
            old.decrypt(value)

    again = rotate_keys(database_url, [new_key, DEVELOPMENT_ENCRYPTION_KEY])
    assert again.returncode == 0, again.stderr
    assert "tokens re-encrypted with the first key: 0" in again.stdout
    assert "tokens already encrypted with the first key: 4" in again.stdout

    settings = service.app.state.settings.model_copy(
        update={"linkedin_ads_token_encryption_keys": [SecretStr(new_key)]}
    )
    async with running_service(settings) as rotated_service:
        account = await first_account(rotated_service.api)
        response = await rotated_service.api.get(f"/v1/ad-accounts/{account}/campaigns")
    assert response.status_code == 200, response.text


async def test_rotation_reports_unreadable(
    service: Service, database_url: str, db_engine: AsyncEngine, sandbox: httpx.AsyncClient
) -> None:
    connection_id = await connect(service.api)
    before = await stored_tokens(db_engine)

    result = rotate_keys(database_url, [generate_key()])

    assert result.returncode == 1
    assert connection_id in result.stderr
    assert "tokens re-encrypted with the first key: 0" in result.stdout
    assert await stored_tokens(db_engine) == before
