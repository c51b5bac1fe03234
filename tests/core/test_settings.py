import pytest

from app.core.security import generate_key
from app.core.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # Settings read `.env` from the working directory; run from an empty one.
    monkeypatch.chdir(tmp_path)
    for name in (
        "LINKEDIN_ADS_API_VERSION",
        "LINKEDIN_ADS_SERVICE_API_KEYS",
        "DATABASE_URL",
        "REDIS_URL",
        "LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS",
        "LINKEDIN_ADS_ENVIRONMENT",
        "LINKEDIN_ADS_CLIENT_SECRET",
        "LINKEDIN_ADS_LIVE_MODE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_defaults_match_product_document() -> None:
    settings = load_settings()
    assert settings.linkedin_ads_api_version == "202402"
    assert settings.linkedin_ads_live_mode is False
    assert settings.linkedin_ads_scopes == ["r_ads", "r_ads_reporting", "rw_ads"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LINKEDIN_ADS_API_VERSION", "2024-02"),
        ("LINKEDIN_ADS_API_VERSION", "202413"),
        ("LINKEDIN_ADS_SERVICE_API_KEYS", "workspace-without-key"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("REDIS_URL", "http://localhost:6379"),
        ("LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS", "not-a-key"),
        ("LINKEDIN_ADS_LIVE_MODE", "perhaps"),
    ],
)
def test_bad_value_names_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert variable in str(raised.value)


def test_production_rejects_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKEDIN_ADS_ENVIRONMENT", "production")
    with pytest.raises(SettingsError) as raised:
        load_settings()
    message = str(raised.value)
    assert "LINKEDIN_ADS_CLIENT_SECRET is a placeholder" in message
    assert "LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS" in message
    assert "LINKEDIN_ADS_SERVICE_API_KEYS" in message


def test_production_accepts_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINKEDIN_ADS_ENVIRONMENT", "production")
    monkeypatch.setenv("LINKEDIN_ADS_CLIENT_SECRET", "a-real-looking-client-secret")
    monkeypatch.setenv("LINKEDIN_ADS_TOKEN_ENCRYPTION_KEYS", generate_key())
    monkeypatch.setenv("LINKEDIN_ADS_SERVICE_API_KEYS", "acme=0123456789abcdef0123")
    settings = load_settings()
    assert list(settings.linkedin_ads_service_api_keys) == ["acme"]


def test_plain_postgres_url_gets_async_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    assert load_settings().database_url == "postgresql+asyncpg://postgres@127.0.0.1:5432/x"


def test_serve_stops_with_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "LINKEDIN_ADS_API_VERSION": "24"}
    result = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    )
    assert result.returncode == 2
    assert "LINKEDIN_ADS_API_VERSION" in result.stderr
    assert "Traceback" not in result.stderr
