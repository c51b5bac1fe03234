"""Re-encryption of stored tokens with the current (first) encryption key.

Rotate keys in three steps: put the new key first in LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS on every
process (the old ones stay listed, so reads keep working), run `linkedin-ads rotate-keys`, then
remove the old keys.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.connections import repository
from app.connections.models import Connection
from app.core.security import TokenCipher, TokenDecryptionError

logger = logging.getLogger(__name__)

TOKEN_COLUMNS = ("access_token_encrypted", "refresh_token_encrypted")


@dataclass
class KeyRotationReport:
    connections: int = 0
    rotated: int = 0
    current: int = 0
    # Connections holding a token that no configured key decrypts; their tokens stay unchanged.
    unreadable: list[uuid.UUID] = field(default_factory=list)


def rotate_connection(
    connection: Connection, cipher: TokenCipher, report: KeyRotationReport
) -> None:
    for column in TOKEN_COLUMNS:
        ciphertext: bytes | None = getattr(connection, column)
        if ciphertext is None:
            continue
        if cipher.is_current(ciphertext):
            report.current += 1
            continue
        try:
            cipher.decrypt(ciphertext)
        except TokenDecryptionError:
            if connection.id not in report.unreadable:
                report.unreadable.append(connection.id)
            logger.error(
                "connection.token_unreadable",
                extra={"connection_id": str(connection.id), "column": column},
            )
            continue
        setattr(connection, column, cipher.rotate(ciphertext))
        report.rotated += 1


async def rotate_token_keys(
    session_factory: async_sessionmaker[AsyncSession], cipher: TokenCipher, batch_size: int = 200
) -> KeyRotationReport:
    """Re-encrypt every stored token that the first key did not encrypt, one batch per transaction.

    Each batch keeps its rows locked, so a concurrent token refresh cannot be overwritten with
    the older token that was read before it.
    """
    report = KeyRotationReport()
    after_id: uuid.UUID | None = None
    while True:
        async with session_factory() as session, session.begin():
            batch = await repository.lock_connections_with_tokens(session, after_id, batch_size)
            for connection in batch:
                rotate_connection(connection, cipher, report)
        if not batch:
            return report
        report.connections += len(batch)
        after_id = batch[-1].id
