"""End to end in a real browser: the Streamlit app served as users run it, driven by Playwright
in Debian's chromium through every page, with two demo scenarios solved on the way.

AppTest (tests/test_app.py) runs the script but not the front end; this catches what only a
browser shows: a page that fails to render, a chart that never draws, a solve whose progress
never finishes. Each page's full-page screenshot goes to test-artifacts/screenshots/ (with the
server's log, and failure.png when a step fails); the Compare one is also copied to
docs/compare.png, which the README shows.

Deselect with `-m "not browser"`. Skipped when /usr/bin/chromium is missing (`apt-get install
-y --no-install-recommends chromium`; .ci/run installs it). Never `playwright install`.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason=f"no browser: {CHROMIUM} is missing (apt-get install -y "
                              "--no-install-recommends chromium)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                               "(uv sync --extra test)")
expect = sync_api.expect

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOT = ROOT / "docs" / "compare.png"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Tall, so that full-page screenshots hold the whole page: Streamlit scrolls an inner container.
VIEWPORT = {"width": 1400, "height": 2400}
SERVER_START_S = 60
PAGE_S = 60  # a page's first render: the demo company is read and KPIs computed on first use
SOLVE_S = 120  # two scenarios at 10 s each (20 s with UPDATE_DOCS=1) plus model building
SCENARIOS = ("Key-account hybrid", "Region x function")  # the Solve page's default choice


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"streamlit exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)  # polling, not waiting for luck
    pytest.fail(f"streamlit not healthy after {SERVER_START_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, request) -> str:
    """The app served on a free local port, on a fresh (empty) run store; stopped afterwards."""
    folder = tmp_path_factory.mktemp("browser")
    log = folder / "streamlit.log"
    port = _free_port()
    env = {**os.environ, "PLANNER_STORE": str(folder / "planner.sqlite")}
    venv_python = ROOT / ".venv" / "bin" / "python"
    python = str(venv_python) if venv_python.exists() else sys.executable
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [python, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port),
             "--browser.gatherUsageStats", "false",
             # serve the code as it was at start: a reload on a file saved meanwhile gives
             # classes two identities (cached objects from the old module fail isinstance)
             "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
        # the server's output next to the screenshots: the first thing to read when this fails
        SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, SCREENSHOTS.parent / "streamlit.log")

    request.addfinalizer(stop)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(url, server, log)
    return url


@pytest.fixture
def page(app_url):
    """A chromium page on the app, with browser-side errors collected in `page.errors`."""
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=VIEWPORT)
            tab = context.new_page()
            tab.set_default_timeout(PAGE_S * 1000)
            expect.set_options(timeout=PAGE_S * 1000)
            tab.errors = []
            tab.started = time.monotonic()
            tab.on("pageerror", lambda err: tab.errors.append(str(err)))
            tab.goto(app_url)
            yield tab
        finally:
            browser.close()


def _settled(page) -> None:
    """The script run is over and nothing on the page is an error."""
    expect(page.get_by_test_id("stApp")).to_have_attribute("data-test-script-state",
                                                          "notRunning")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stAlertContentError")).to_have_count(0)
    _drawn(page)


def _open(page, name: str) -> None:
    """Choose a page in the sidebar and wait for its header (which starts with its name)."""
    page.get_by_test_id("stSidebar").get_by_text(name, exact=True).click()
    expect(page.get_by_role("heading", name=re.compile(rf"^{name}: "))).to_be_visible()
    _settled(page)


def _drawn(page) -> None:
    """Charts and tables have drawn: no loading placeholder left, every Plotly chart has its
    SVG (those in closed tabs too) and every dataframe its canvas."""
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0)
    charts = page.get_by_test_id("stPlotlyChart")
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    tables = page.get_by_test_id("stDataFrame")
    for i in range(tables.count()):
        expect(tables.nth(i).locator("canvas").first).to_be_attached()


def _screenshot(page, name: str) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    print(f"{time.monotonic() - page.started:6.1f} s  {path.name}")  # where the time goes (-rP)
    return path


def test_every_page_in_a_browser(page):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    try:
        _every_page(page)
    except BaseException:
        try:
            _screenshot(page, "failure")  # what the browser showed when it went wrong
        except Exception:  # the browser is gone: the first error is the one to see
            pass
        raise


def _every_page(page) -> None:
    # Data: the demo company, read and checked
    expect(page.get_by_role("heading", name=re.compile(r"^Data: "))).to_be_visible()
    expect(page.get_by_test_id("stMetric").filter(has_text="Reps")).to_be_visible()
    expect(page.get_by_text("The files are valid")).to_be_visible()
    _settled(page)
    _screenshot(page, "1-data")

    # Solve: the two demo scenarios the page offers first, at a short time limit
    _open(page, "Solve")
    chosen = page.get_by_test_id("stMultiSelect").filter(has_text="Scenarios to solve")
    for name in SCENARIOS:
        expect(chosen).to_contain_text(name)
    limit = page.get_by_test_id("stSlider").filter(has_text="Time limit per scenario")
    thumb = limit.get_by_role("slider")
    thumb.focus()
    thumb.press("Home")  # 5 s, then one step up: 5 s plans are too rough on a busy machine
    thumb.press("ArrowRight")
    if os.environ.get("UPDATE_DOCS") == "1":  # the README's picture: the app's default 20 s
        for _ in range(2):
            thumb.press("ArrowRight")
    seconds = "20" if os.environ.get("UPDATE_DOCS") == "1" else "10"
    expect(limit.get_by_test_id("stSliderThumbValue")).to_have_text(seconds)
    _settled(page)  # the slider's value reached the script before Solve reads it
    page.get_by_role("button", name="Solve", exact=True).click()
    # one log line per scenario when it ends: "<name>: <status> in ... verifier: ..." or
    # "⚠ <name>: <error>"; wait for both, then read them (an error fails at once, not at timeout)
    ended = page.get_by_text(re.compile(r"verifier: |^⚠ "))
    expect(ended).to_have_count(2, timeout=SOLVE_S * 1000)
    lines = [line.strip() for line in ended.all_inner_texts()]
    assert all(line.endswith("verifier: every rule holds") for line in lines), lines
    assert sorted(line.split(":")[0] for line in lines) == sorted(SCENARIOS), lines
    expect(page.get_by_role("button", name="Solve", exact=True)).to_be_enabled()
    _settled(page)
    _screenshot(page, "2-solve")

    # Compare: the KPI table (today's organisation first) and the charts
    _open(page, "Compare")
    table = page.get_by_test_id("stDataFrame").first
    expect(table).to_be_visible()
    # the grid draws on a canvas; its accessible copy (rows of cells) is inside the canvas
    expect(table.locator("tbody tr").first).to_contain_text("current organisation")
    for name in SCENARIOS:
        expect(table.locator("tbody")).to_contain_text(name)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    _drawn(page)
    shot = _screenshot(page, "3-compare")
    if os.environ.get("UPDATE_DOCS") == "1":  # refresh the README's picture on purpose only
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(shot, DOCS_SCREENSHOT)

    # Plan: teams, members, owner changes, hiring
    _open(page, "Plan")
    expect(page.get_by_role("heading", name="Teams", exact=True)).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    _screenshot(page, "4-plan")

    # Adjust: the form for a minimal-disruption re-solve (not run: that is another solve)
    _open(page, "Adjust")
    expect(page.get_by_role("button", name="Re-solve with minimal disruption")).to_be_enabled()
    _screenshot(page, "5-adjust")

    # Export: the downloads
    _open(page, "Export")
    expect(page.get_by_test_id("stDownloadButton").filter(has_text="All plan files (zip)")
           ).to_be_visible()
    _screenshot(page, "6-export")

    # Design: a scenario to start from, and the save button
    _open(page, "Design")
    expect(page.get_by_role("button", name="Save scenario")).to_be_visible()
    _screenshot(page, "7-design")

    assert page.errors == [], f"errors in the browser: {page.errors}"
