"""``tensorscope dashboard --store`` served for real and driven in headless Chromium: the Regressions page
reads the store, and a triage decision made in the browser lands in the store with who made it."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from asv_builder import ResultsTree, commit_hash
from test_app import ELEMENTWISE, STEP_AT, build_tree
from test_browser import CHROMIUM, CHROMIUM_ARGS, IDLE, REPO, _free_port, _wait_healthy

from tensorscope.cli import main as cli
from tensorscope.store import open_store
from tensorscope.store.triage import decisions

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_decision_made_in_the_browser_is_kept_in_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright Python package is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = build_tree(ResultsTree(tmp_path / "results"))
    store = tmp_path / "store.sqlite"
    assert cli(["ingest", str(root), "--store", str(store), "--quiet"]) == 0
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORSCOPE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [sys.executable, "-m", "tensorscope.cli", "dashboard", "--store", str(store), "--port", str(port), "--cache-dir", "none"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    change = f"box|virtualenv-py3.11-TENSORSCOPE_SIMDon|{ELEMENTWISE}|backend='numpy', op='exp', size=1000, dtype='float64'@{commit_hash(STEP_AT)[:8]}"
    try:
        _wait_healthy(url, proc)
        with sync_api.sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page: Any = chromium.new_page(viewport={"width": 1400, "height": 3000})
                page.goto(f"{url}/regressions?change={urllib.parse.quote(change)}", wait_until="domcontentloaded")
                page.get_by_text("Record decision").wait_for(timeout=60_000)
                page.wait_for_function(IDLE, timeout=60_000)
                assert page.get_by_text("Results store").count() >= 1
                form = page.locator('[data-testid="stForm"]').first
                form.locator('[data-testid="stSelectbox"]').first.click()
                page.get_by_role("option", name="investigating", exact=True).click()
                page.get_by_label("Who decided").fill("ana")
                page.get_by_label("Note").fill("<b>not bold</b>")
                page.get_by_role("button", name="Record decision").click()
                page.get_by_text("investigating by ana").first.wait_for(timeout=60_000)
                page.wait_for_function(IDLE, timeout=60_000)
                assert page.locator("b", has_text="not bold").count() == 0  # the note is shown as text
            finally:
                chromium.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    engine = open_store(store)
    try:
        (d,) = decisions(engine)
        assert (d.state, d.who, d.note, d.change.machine, d.change.commit) == (
            "investigating",
            "ana",
            "<b>not bold</b>",
            "box",
            commit_hash(STEP_AT),
        )
    finally:
        engine.dispose()
