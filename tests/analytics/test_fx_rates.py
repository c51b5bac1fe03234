"""Exchange-rate CSVs: only finite, plausible rates, one per currency and day, get in."""

from pathlib import Path

import pytest

from app.analytics.cli import load_fx_rates, read_rates

HEADER = "date,currency,usd_per_unit\n"


@pytest.mark.parametrize(
    "row",
    [
        "2026-11-05,EUR,Infinity",
        "2026-11-05,EUR,NaN",
        "2026-11-05,EUR,1e400",
        "2026-11-05,EUR,1e-30",
        "2026-11-05,EUR,0",
        "2026-11-05,EURO,1.08",
        "2026-11-05,EUR",
    ],
)
def test_bad_rate_names_line(tmp_path: Path, row: str) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + "2026-11-04,EUR,1.08\n" + row + "\n")
    with pytest.raises(ValueError, match=r"rates.csv:3"):
        read_rates(path)


def test_conflicting_duplicate_rejected(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + "2026-11-05,EUR,1.08\n2026-11-05,EUR,1.09\n")
    with pytest.raises(ValueError, match="second, different rate"):
        read_rates(path)


def test_binary_file_reports_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "rates.csv"
    path.write_bytes(b"\xff\xfe\x00binary")
    assert load_fx_rates(path) == 1
    assert "not a UTF-8 text file" in capsys.readouterr().err


def test_good_rates_read(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    path.write_text(HEADER + "2026-11-05,eur,1.08\n2026-11-05,GBP,1.27\n")
    rates = sorted(read_rates(path), key=lambda item: item["currency"])
    assert [(item["currency"], str(item["usd_per_unit"])) for item in rates] == [
        ("EUR", "1.08"),
        ("GBP", "1.27"),
    ]
