"""The auditors' explorer page end to end in a real headless browser (Debian's chromium driven by
Selenium) against the API served by uvicorn over the session's chain: sign in with a token,
search a transaction, follow its link to the record's trace, an address, a scheme's supply chart,
the language switch, and an unknown hash shown as a clear error; a gift read as one sentence,
status words and dates in both languages."""

from __future__ import annotations

import re
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from eth_account.messages import encode_defunct
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from api.app import create_app
from ledger.chain.node.host import free_port
from ledger.ledger import Ledger
from tests.earning_helpers import earn, earning_scheme, funded_member, two_hours_ago
from tests.factories import new_member, new_scheme
from tests.probes import issue_points

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(ledger: Ledger) -> Iterator[str]:
    """The API app under uvicorn on a free port, following the chain into its index."""
    settings = ledger.settings.model_copy(
        update={"rate_limit_per_account": 100_000, "rate_limit_per_ip": 100_000,
                "api_follow_poll_seconds": 0.2}
    )  # fmt: skip
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = uvicorn.Config(
        create_app(settings.model_copy(update={"public_url": url})), host="127.0.0.1",
        port=port, log_level="warning",
    )  # fmt: skip
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.05)
    yield url
    srv.should_exit = True
    thread.join(timeout=30)


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    chromedriver = shutil.which("chromedriver")
    if chromedriver is None:
        pytest.fail(
            "chromedriver is not installed (Debian chromium-driver): scripts/dev.sh installs it"
        )
    options = Options()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--lang=en-US",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)  # fmt: skip
    binary = shutil.which("chromium")
    if binary:
        options.binary_location = binary
    browser = webdriver.Chrome(service=Service(chromedriver), options=options)
    yield browser
    browser.quit()


def token_of(url: str, ledger: Ledger) -> str:
    account = ledger.operator("auditor")
    with httpx.Client(base_url=url) as http:
        message = http.post("/v1/auth/challenge", json={"address": account.address}).json()[
            "message"
        ]
        signature = account.sign_message(encode_defunct(text=message)).signature
        answer = http.post(
            "/v1/auth/sign-in",
            json={"message": message, "signature": "0x" + bytes(signature).hex()},
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def indexed(url: str, token: str, block: int) -> None:
    """Wait until the server's index holds `block`."""
    deadline = time.monotonic() + 30
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        while http.get("/v1/audit/index").json()["indexed_block"] < block:
            assert time.monotonic() < deadline, "the index did not catch up"
            time.sleep(0.1)


def wait(driver: WebDriver, condition: Any, timeout: float = 15) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def search(driver: WebDriver, text: str) -> None:
    box = driver.find_element(By.ID, "q")
    box.clear()
    box.send_keys(text)
    driver.find_element(By.CSS_SELECTOR, "#search button").click()


#: How the explorer writes every time, in both languages: ISO date, 24-hour clock, China time.
WHEN = re.compile(r"— #\d+ · 0x[0-9a-f]{6}…[0-9a-f]{4} · \d{4}-\d{2}-\d{2} \d{2}:\d{2} CST$")


def view_is(kind: str) -> Any:
    return ec.presence_of_element_located((By.CSS_SELECTOR, f'#view[data-view="{kind}"]'))


def test_search_a_transaction_and_trace_it_to_the_record(
    ledger: Ledger, server: str, driver: WebDriver
) -> None:
    e = earning_scheme(ledger)
    member = new_member(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, member.address, start, end)
    approval = (
        ledger.records.contract.events.RecordApproved()
        .get_logs(from_block=ledger.w3.eth.block_number, argument_filters={"recordId": record_id})[
            0
        ]["transactionHash"]
        .to_0x_hex()
    )
    token = token_of(server, ledger)
    indexed(server, token, ledger.w3.eth.block_number)

    driver.get(f"{server}/explorer/")
    wait(driver, ec.visibility_of_element_located((By.ID, "token"))).send_keys(token)
    driver.find_element(By.ID, "use-token").click()
    wait(driver, view_is("home"))
    status = driver.find_element(By.ID, "index-status")
    assert status.text.startswith("indexed to block") and status.get_attribute("data-behind")

    search(driver, approval)
    wait(driver, view_is("tx"))
    assert driver.find_element(By.ID, "kind").text == "transaction"
    approved = driver.find_element(By.CSS_SELECTOR, 'li.event[data-event="RecordApproved"]')
    assert f"service record #{record_id}" in approved.text and "24 points" in approved.text
    issued = driver.find_element(By.CSS_SELECTOR, 'li.event[data-event="PointsIssued"]')
    assert "issued 24 points" in issued.text and e.scheme.code in issued.text

    # the movement's cause links to the record: its trace, people and the store check
    driver.find_element(
        By.CSS_SELECTOR, f'#view table a.record[data-route="record/{record_id}"]'
    ).click()
    wait(driver, view_is("record"))
    assert driver.find_element(By.ID, "record-status").text == "approved"
    assert driver.find_element(By.ID, "record-points").text == "24"
    assert driver.find_element(By.ID, "record-store").text == "match the chain"
    assert driver.find_element(By.ID, "problems").text == "No problems found"
    reviewer = e.reviewer.address
    assert driver.find_elements(By.CSS_SELECTOR, f'a.addr[data-route="address/{reviewer}"]')

    # each account is a link: the volunteer's file
    driver.find_element(By.CSS_SELECTOR, f'a.addr[data-route="address/{member.address}"]').click()
    wait(driver, view_is("address"))
    assert driver.find_element(By.ID, "member-status").text == "active"
    assert driver.find_elements(By.CSS_SELECTOR, 'li.event[data-event="MemberRegistered"]')

    # a scheme: reconciled supply and the chart of supply over time
    search(driver, e.scheme.code)
    wait(driver, view_is("scheme"))
    assert driver.find_element(By.ID, "total-supply").text == "24"
    assert driver.find_element(By.ID, "reconciliation").text == "chain and index agree"
    chart = driver.find_element(By.ID, "supply-chart")
    assert int(chart.get_attribute("data-points") or 0) >= 1
    assert chart.find_elements(By.TAG_NAME, "polyline")


def test_labels_switch_to_chinese_and_errors_are_shown_plainly(
    ledger: Ledger, server: str, driver: WebDriver
) -> None:
    if not driver.current_url.startswith(server):
        driver.get(f"{server}/explorer/")
    driver.find_element(By.ID, "lang-switch").click()
    wait(driver, ec.text_to_be_present_in_element((By.ID, "home-link"), "审计浏览器"))
    assert driver.find_element(By.ID, "lang-switch").text == "English"
    search(driver, "0x" + "ab" * 32)
    error = wait(driver, ec.visibility_of_element_located((By.ID, "error")))
    assert error.text.startswith("未找到") and "0x" + "ab" * 32 in error.text
    assert "blocks behind" in error.text  # says how far the index had read
    search(driver, "not a thing!")
    wait(driver, ec.text_to_be_present_in_element((By.ID, "error"), "not a thing"))
    driver.find_element(By.ID, "lang-switch").click()
    wait(driver, ec.text_to_be_present_in_element((By.ID, "home-link"), "Auditors' explorer"))


def test_a_gift_reads_as_one_sentence_with_dates_and_status_words_in_both_languages(
    ledger: Ledger, server: str, driver: WebDriver
) -> None:
    scheme = new_scheme(ledger)
    giver, recipient = funded_member(ledger), new_member(ledger)
    issue_points(ledger, giver.address, scheme.id, 100, secrets.token_bytes(32))
    gift = ledger.gifts_contract.give(
        giver.account, scheme.id, giver.address, recipient.address, 30, secrets.token_bytes(32)
    )
    token = token_of(server, ledger)
    indexed(server, token, ledger.w3.eth.block_number)
    if not driver.current_url.startswith(server):
        driver.get(f"{server}/explorer/")
        wait(driver, ec.visibility_of_element_located((By.ID, "token"))).send_keys(token)
        driver.find_element(By.ID, "use-token").click()
    if driver.find_element(By.ID, "lang-switch").text != "中文":  # English first
        driver.find_element(By.ID, "lang-switch").click()

    driver.get(f"{server}/explorer/#/address/{giver.address}")
    wait(driver, view_is("address"))
    tx = gift.tx_hash.lower()
    entries = driver.find_elements(By.CSS_SELECTOR, f'ol.events > li.event[data-tx="{tx}"]')
    # the transfer, the ledger's move and the relayed request are folded under the gift
    assert [e.get_attribute("data-event") for e in entries] == ["PointsGiven"]
    text = entries[0].text.splitlines()[0]
    assert re.match(rf"0x\w+…\w+ gave 30 {scheme.code} points to 0x\w+…\w+ ", text), text
    assert WHEN.search(text), text
    folded = entries[0].find_elements(By.CSS_SELECTOR, "details.parts li.event")
    assert {"PointsMoved", "TransferSingle"} <= {f.get_attribute("data-event") for f in folded}
    assert not any(f.is_displayed() for f in folded)
    assert driver.find_element(By.ID, "member-status").text == "active"

    driver.find_element(By.ID, "lang-switch").click()
    wait(driver, ec.text_to_be_present_in_element((By.ID, "home-link"), "审计浏览器"))
    wait(driver, view_is("address"))
    wait(driver, ec.text_to_be_present_in_element((By.ID, "member-status"), "正常"))
    entry = driver.find_element(By.CSS_SELECTOR, f'ol.events > li.event[data-tx="{tx}"]')
    text = entry.text.splitlines()[0]
    assert re.match(rf"0x\w+…\w+ 赠送 30 {scheme.code} 积分给 0x\w+…\w+ ", text), text
    assert WHEN.search(text), text
    kinds = [td.text for td in driver.find_elements(By.CSS_SELECTOR, "#view table td")]
    assert "赠送" in kinds and "gift" not in kinds

    e = earning_scheme(ledger)
    start, end = two_hours_ago(ledger)
    record_id = earn(ledger, e, new_member(ledger).address, start, end)
    driver.get(f"{server}/explorer/#/record/{record_id}")
    wait(driver, ec.text_to_be_present_in_element((By.ID, "record-status"), "已通过"))
    driver.find_element(By.ID, "lang-switch").click()
    wait(driver, ec.text_to_be_present_in_element((By.ID, "record-status"), "approved"))
