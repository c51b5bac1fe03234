"""Encryption of OAuth tokens at rest, with key rotation (Fernet, AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr


class TokenCipher:
    """Encrypts with the first configured key and decrypts with any of them."""

    def __init__(self, keys: list[SecretStr]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is required")
        self._fernets = [Fernet(key.get_secret_value().encode()) for key in keys]
        self._multi = MultiFernet(self._fernets)

    def encrypt(self, plaintext: str) -> bytes:
        return self._multi.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._multi.decrypt(ciphertext).decode()
        except InvalidToken:
            raise TokenDecryptionError(
                "a stored token cannot be decrypted with any configured key; "
                "add the old key to LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS"
            ) from None

    def rotate(self, ciphertext: bytes) -> bytes:
        """Re-encrypt with the current (first) key."""
        return self._multi.rotate(ciphertext)

    def is_current(self, ciphertext: bytes) -> bool:
        try:
            self._fernets[0].decrypt(ciphertext)
        except InvalidToken:
            return False
        return True


class TokenDecryptionError(RuntimeError):
    pass


def generate_key() -> str:
    return Fernet.generate_key().decode()
