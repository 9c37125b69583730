"""The served dashboard in a real headless Chromium (Playwright's Python package).

Starts ``tensorscope dashboard`` on a free loopback port over a results tree made here
(with HTML and script in a machine name, a benchmark name and a file name), opens every
page, and checks: no Streamlit exception block, the page's main chart rendered, no
markup from the results acted on. Screenshots go to artifacts/ (git-ignored).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asv_builder import ResultsTree, commit_hash
from hostile_corpus import STEP_COMMITS, URL_NAME, all_cases
from test_app import EVIL, build_tree, two_pythons_tree

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "artifacts"
# page -> its URL path (every page has its own, so a shared link opens it; the root forwards to the overview)
PAGES = {
    "overview": "overview",
    "regressions": "regressions",
    "speedups": "speedups",
    "roofline": "roofline",
    "hardware": "hardware",
    "explorer": "explorer",
    "accuracy": "accuracy",
}
CHART = '[data-testid="stPlotlyChart"] .main-svg'
# the overview's main chart is plain HTML (no plotly.js on the first page)
MAIN_CHART = {name: CHART for name in PAGES} | {"overview": ".ts-status"}
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dashboard exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"dashboard did not answer at {url} within {timeout:.0f} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    root = build_tree(ResultsTree(tmp_path_factory.mktemp("browser") / "results"), evil=True)
    (root / "box" / f"{EVIL}.json").write_text("not json", encoding="utf-8")
    with _serve(root) as url:
        yield url


@contextlib.contextmanager
def _serve(root: Path) -> Iterator[str]:
    """``tensorscope dashboard root`` on a free loopback port until the block ends; yields its URL."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORSCOPE_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorscope.cli", "dashboard", str(root), "--port", str(port), "--cache-dir", "none"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(served: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def test_server_binds_loopback_only(served: str) -> None:
    port = int(served.rsplit(":", 1)[1])
    addresses = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), port, socket.AF_INET)} - {"127.0.0.1", "127.0.1.1"}
    for address in addresses:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0, f"reachable on {address}"


def test_every_page_renders_in_chromium(served: str, browser: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    dialogs: list[str] = []
    failures: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for name, path in PAGES.items():
        page.goto(f"{served}/{path}", wait_until="domcontentloaded")
        try:
            page.wait_for_selector(MAIN_CHART[name], timeout=45_000)
            page.wait_for_function(IDLE, timeout=45_000)
        except Exception as exc:
            failures.append(f"{name}: no chart ({type(exc).__name__})")
        page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        if page.locator('[data-testid="stException"]').count():
            failures.append(f"{name}: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
        if page.get_by_text("Page not found").count():
            failures.append(f"{name}: page not found at /{path}")
        if page.evaluate("() => window.__xss === 1"):
            failures.append(f"{name}: markup from the results ran")
    page.close()
    assert not dialogs, dialogs
    assert not failures, failures


def test_the_root_address_opens_the_overview_at_its_own_url(served: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1200})
    page.goto(f"{served}/?machine=box", wait_until="domcontentloaded")
    page.wait_for_selector(MAIN_CHART["overview"], timeout=45_000)
    page.wait_for_url("**/overview?machine=box", timeout=45_000)  # the filter in the link survives the forward
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator('[data-testid="stSidebarNav"] a[aria-current="page"]').inner_text().split()[-1] == "Overview"  # after its icon
    page.close()


def test_markup_in_names_is_shown_as_text(served: str, browser: Any) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 2200})
    page.on("dialog", lambda d: (_ for _ in ()).throw(AssertionError(f"a dialog opened: {d.message}")))
    # the unreadable file's name is listed, literally, in the warning on every page
    page.goto(f"{served}/", wait_until="domcontentloaded")
    warning = page.locator('[data-testid="stAlertContentWarning"]').first
    warning.wait_for(timeout=45_000)
    assert EVIL in warning.inner_text()
    assert page.locator("img[src=x]").count() == 0
    # the benchmark name is a chart title in the explorer, reached by a shared link
    bench = f"bench_evil.Evil.time_{EVIL}"
    page.goto(f"{served}/explorer?bench={urllib.parse.quote(bench)}", wait_until="domcontentloaded")
    page.wait_for_selector(CHART, timeout=45_000)
    page.wait_for_function(
        "(t) => [...document.querySelectorAll('.gtitle')].some(e => e.textContent.includes(t))", arg=EVIL, timeout=45_000
    )
    assert page.locator("img[src=x]").count() == 0
    assert not page.evaluate("() => window.__xss === 1")
    page.screenshot(path=str(ARTIFACTS / "dashboard-markup-as-text.png"), full_page=True)
    page.close()


@pytest.fixture(scope="module")
def served_hostile(tmp_path_factory: pytest.TempPathFactory, served: str) -> Iterator[str]:
    """The dashboard over the directory holding every hostile case of tests/hostile_corpus.py."""
    root = tmp_path_factory.mktemp("hostile") / "results"
    all_cases(root)
    with _serve(root) as url:
        yield url


def test_every_hostile_case_at_once_in_chromium(served_hostile: str, browser: Any) -> None:
    """Every page renders over the hostile directory, lists the unreadable files, turns no name into
    a link or markup, and no request leaves the machine (page icons, fonts, telemetry)."""
    elsewhere: list[str] = []
    dialogs: list[str] = []
    failures: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 2200})

    def record(request: Any) -> None:
        url = urllib.parse.urlparse(request.url)
        if url.scheme not in ("data", "blob", "about") and url.hostname not in ("127.0.0.1", "localhost"):
            elsewhere.append(request.url)

    page.on("request", record)
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for name, path in PAGES.items():
        page.goto(f"{served_hostile}/{path}", wait_until="domcontentloaded")
        try:
            page.wait_for_selector('[data-testid="stAlertContentWarning"]', timeout=45_000)
            page.wait_for_function(IDLE, timeout=45_000)
        except Exception as exc:
            failures.append(f"{name}: did not finish ({type(exc).__name__})")
        page.screenshot(path=str(ARTIFACTS / f"dashboard-hostile-{name}.png"), full_page=True)
        if page.locator('[data-testid="stException"]').count():
            failures.append(f"{name}: {page.locator('[data-testid=stException]').first.inner_text()[:300]}")
        if page.locator('[data-testid="stMain"] a[href*="evil"], [data-testid="stMain"] a[href^="mailto:"]').count():
            failures.append(f"{name}: a name became a link")
    # the problems of every case are listed (the expander holds them all)
    page.goto(f"{served_hostile}/overview", wait_until="domcontentloaded")
    page.wait_for_function(IDLE, timeout=45_000)
    warning = page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
    assert "file(s) or entries could not be read" in warning
    # the Regressions detail view of the regression in the benchmark whose name holds a URL
    change = f"box|virtualenv-py3.11-url|{URL_NAME}|@{commit_hash(STEP_COMMITS // 2)[:8]}"  # its series @ first commit after
    page.goto(f"{served_hostile}/regressions?change={urllib.parse.quote(change)}", wait_until="domcontentloaded")
    page.wait_for_function(
        "() => (document.querySelector('[data-testid=stMain]')?.innerText || '').includes('evil.example or a')", timeout=45_000
    )
    page.wait_for_function(IDLE, timeout=45_000)
    page.screenshot(path=str(ARTIFACTS / "dashboard-hostile-regression-detail.png"), full_page=True)
    main = page.locator('[data-testid="stMain"]')
    assert main.locator('a[href*="evil"], a[href^="mailto:"]').count() == 0
    page.close()
    assert not dialogs, dialogs
    assert not failures, failures
    assert not elsewhere, elsewhere


def test_hardware_across_python_versions_is_marked_in_chromium(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> None:
    """A VM's py3.11 virtualenv against a GPU machine's own Python 3.12: at its defaults the page draws
    the ratio, its bar labelled across Python versions, with the reason."""
    root = two_pythons_tree(ResultsTree(tmp_path_factory.mktemp("pythons") / "results"))
    ARTIFACTS.mkdir(exist_ok=True)
    with _serve(root) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 2200})
        page.goto(f"{url}/hardware?ref=vm", wait_until="domcontentloaded")
        page.wait_for_selector(CHART, timeout=45_000)
        page.wait_for_function(IDLE, timeout=45_000)
        page.screenshot(path=str(ARTIFACTS / "dashboard-hardware-across-python.png"), full_page=True)
        ticks = [t.text_content() for t in page.locator(f"{CHART} .xtick text").all()]
        assert "gpu (across Python versions)" in ticks
        warning = page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()
        assert "Python 3.12 on gpu vs 3.11" in warning
        assert page.locator('[data-testid="stException"]').count() == 0
        page.close()


# The documentation's screenshots: the dashboard over this repository's own results, one per page,
# remade on request (TENSORSCOPE_DOCS_SCREENSHOTS=docs/_static/screenshots) and committed, never by hand.
DOCS_SCREENSHOTS = os.environ.get("TENSORSCOPE_DOCS_SCREENSHOTS", "")
SCREENSHOT_MAX_BYTES = 400_000  # a few hundred KB each, so the repository stays small


def _small_png(path: Path) -> None:
    """Rewrite a screenshot as a 256-colour PNG (a dashboard has few colours; a third of the bytes or less)."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(path, optimize=True)


@pytest.mark.skipif(
    not DOCS_SCREENSHOTS, reason="set TENSORSCOPE_DOCS_SCREENSHOTS=docs/_static/screenshots to remake the docs' screenshots"
)
def test_documentation_screenshots() -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    out = Path(DOCS_SCREENSHOTS)
    out = out if out.is_absolute() else REPO / out
    out.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    # relative to the checkout (the server's working directory), so the sidebar reads "results"
    with _serve(Path("results")) as url, sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = chromium.new_page(viewport={"width": 1280, "height": 1100})
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}", wait_until="domcontentloaded")
            try:
                page.wait_for_selector(MAIN_CHART[name], timeout=90_000)
            except Exception as exc:  # a page at its defaults may have no chart for these results: the picture shows why
                failures.append(f"{name}: no chart ({type(exc).__name__})")
            page.wait_for_function(IDLE, timeout=90_000)
            page.wait_for_timeout(500)  # plotly's transitions end
            if page.locator('[data-testid="stException"]').count():
                failures.append(f"{name}: exception on the page")
            shot = out / f"{name}.png"
            page.screenshot(path=str(shot))
            _small_png(shot)
            if shot.stat().st_size > SCREENSHOT_MAX_BYTES:
                failures.append(f"{name}: {shot.stat().st_size} bytes")
        chromium.close()
    assert {f"{n}.png" for n in PAGES} <= {p.name for p in out.glob("*.png")}
    assert not failures, failures
