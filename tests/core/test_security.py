import pytest
from pydantic import SecretStr

from app.core.logging import redact
from app.core.security import TokenCipher, TokenDecryptionError, generate_key


def test_cipher_round_trip_hides_plaintext() -> None:
    cipher = TokenCipher([SecretStr(generate_key())])
    encrypted = cipher.encrypt("AQU-access-token")
    assert b"AQU-access-token" not in encrypted
    assert cipher.decrypt(encrypted) == "AQU-access-token"


def test_old_key_still_decrypts_after_rotation() -> None:
    old, new = generate_key(), generate_key()
    encrypted = TokenCipher([SecretStr(old)]).encrypt("token")
    rotated_cipher = TokenCipher([SecretStr(new), SecretStr(old)])
    assert rotated_cipher.decrypt(encrypted) == "token"
    assert not rotated_cipher.is_current(encrypted)
    rotated = rotated_cipher.rotate(encrypted)
    assert TokenCipher([SecretStr(new)]).decrypt(rotated) == "token"


def test_unknown_key_raises_clear_error() -> None:
    encrypted = TokenCipher([SecretStr(generate_key())]).encrypt("token")
    with pytest.raises(TokenDecryptionError, match="LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS"):
        TokenCipher([SecretStr(generate_key())]).decrypt(encrypted)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer AQUabc.def", "AQUabc.def"),
        ('{"access_token": "AQU123", "x": 1}', "AQU123"),
        ("refresh_token=AQW999&client_id=x", "AQW999"),
        ("client_secret=shh&grant_type=refresh_token", "shh"),
        ("/callback?code=AQTcode&state=s", "AQTcode"),
    ],
)
def test_redact_removes_secrets(text: str, secret: str) -> None:
    assert secret not in redact(text)
