"""``vpl certificate create`` and ``vpl verify``, end to end against the session's chain and store
(the ``vpl`` runner of ``tests/e2e/test_cli.py``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ledger.ledger import Ledger
from ledger.values import CST
from tests.e2e.runner import Vpl, fails, ok
from tests.earning_helpers import HOUR, earn, earning_scheme, past_monday
from tests.factories import new_member


@pytest.fixture
def cli(vpl: Vpl) -> Vpl:
    return vpl


@dataclass(frozen=True)
class Served:
    member: str
    day: str
    record: int
    scheme: str


@pytest.fixture(scope="module")
def served(ledger: Ledger) -> Served:
    """A member with one approved record: two hours, grade B, 20 points."""
    e = earning_scheme(ledger)
    member = new_member(ledger)
    start = past_monday(ledger, weeks_back=2) + 14 * HOUR
    record = earn(ledger, e, member.address, start, start + 2 * HOUR, grade="B")
    day = datetime.fromtimestamp(start, CST).date().isoformat()
    return Served(member.address, day, record, e.scheme.code)


def create(cli: Vpl, served: Served, out: Path) -> Any:
    period = ("--from", served.day, "--to", served.day)
    return ok(cli("--json", "certificate", "create", served.member, *period, "--out", str(out)))


def test_certificate_create_writes_the_json_and_the_page_and_each_verifies(
    cli: Vpl, served: Served, tmp_path: Path
) -> None:
    data = create(cli, served, tmp_path)

    code = str(data["code"])
    assert re.fullmatch(r"VPL(-[A-Z2-7]{4}){4}", code)
    assert (data["member"], data["records"], data["hours"]) == (served.member, 1, "2.00")
    assert data["totals"] == {
        "records": 1,
        "hours": "2.00",
        "schemes": {served.scheme: {"records": 1, "hours": "2.00", "points": 20}},
    }
    assert (data["json"], data["html"]) == (
        str(tmp_path / f"{code}.json"),
        str(tmp_path / f"{code}.html"),
    )
    for given in (code, str(tmp_path / f"{code}.json"), str(tmp_path / f"{code}.html")):
        checked = ok(cli("--json", "verify", given))
        assert (checked["valid"], checked["code"], checked["problems"]) == (True, code, [])
        assert checked["lines"] == 1


def test_readable_output_names_the_code_the_totals_and_the_files(
    cli: Vpl, served: Served, tmp_path: Path
) -> None:
    period = ("--from", served.day, "--to", served.day)
    result = cli("certificate", "create", served.member, *period, "--out", str(tmp_path))

    assert result.exit_code == 0, result.output
    code = re.search(r"certificate (VPL(?:-[A-Z2-7]{4}){4})", result.stdout)
    assert code is not None
    assert "20 分" in result.stdout
    assert (tmp_path / f"{code.group(1)}.html").exists()
    verified = cli("verify", code.group(1))
    assert verified.exit_code == 0, verified.output
    assert f"valid: certificate {code.group(1)}" in verified.stdout
    assert "1, each checked against the chain" in verified.stdout


def test_verify_of_an_altered_certificate_exits_non_zero_with_the_reasons(
    cli: Vpl, served: Served, tmp_path: Path
) -> None:
    data = create(cli, served, tmp_path)
    document = json.loads(Path(str(data["json"])).read_text(encoding="utf-8"))
    document["lines"][0]["points"] = 200
    altered = tmp_path / "altered.json"
    altered.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")

    readable = cli("verify", str(altered))
    as_json = cli("--json", "verify", str(altered))

    fails(readable, 6, f"certificate {data['code']} is NOT valid")
    assert "points 200 differs from the chain's 20" in readable.stderr
    assert "does not match its verification code" in readable.stderr
    assert as_json.exit_code == 6
    error = json.loads(as_json.stdout)["error"]
    assert (error["code"], error["details"]["valid"]) == ("certificate_invalid", False)
    assert (
        f"line 1 (record:{served.record}): points 200 differs from the chain's 20"
        in (error["details"]["problems"])
    )


def test_verify_of_what_is_neither_a_code_nor_a_file_is_bad_input(cli: Vpl) -> None:
    fails(cli("verify", "no-such-certificate"), 2, "neither a verification code")


def test_an_operator_who_certifies_nothing_is_refused(
    cli: Vpl, served: Served, tmp_path: Path
) -> None:
    period = ("--from", served.day, "--to", served.day)
    result = cli(
        "--as", "relayer", "certificate", "create", served.member, *period, "--out", str(tmp_path)
    )

    fails(result, 3, "may not issue certificates")
    assert list(tmp_path.iterdir()) == []
