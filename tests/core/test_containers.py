"""Container files: every variable compose sets is a setting the service reads."""

from pathlib import Path

import yaml

from app.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_compose_variables_are_settings() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = {name.upper() for name in Settings.model_fields}
    for name, service in compose["services"].items():
        for variable in service.get("environment") or {}:
            if name == "postgres":
                continue  # the PostgreSQL image's own variables
            assert variable in known, f"{name} sets {variable}, which Settings does not read"


def test_compose_services_have_healthchecks() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name in ("postgres", "redis", "sandbox"):
        assert "healthcheck" in compose["services"][name], name
    depends = compose["services"]["service"]["depends_on"]
    assert depends["postgres"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_dockerfile_runs_as_non_root() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "\nUSER 10001:10001\n" in dockerfile
    assert "\nHEALTHCHECK " in dockerfile
    assert dockerfile.count("\nFROM ") == 2
