"""Measure the served dashboard in headless Chromium: page render, filter re-render, concurrency.

    .venv/bin/python scripts/measure_dashboard.py [RESULTS_DIR] [--big] [--sessions 20] [--repeat 5]

Starts ``tensorscope dashboard RESULTS_DIR`` on a free loopback port (default: this
checkout's results/; ``--big`` generates a 1M-point tree with
scripts/generate_results_tree.py under /tmp and serves that), then reports:

* cold first render: the first browser visit after the server started (reads the
  results and fills the caches), to the Overview drawn (its status bar and every
  table; other pages: their first plotly chart) and the script idle;
* warm first render: a new session opening each page of a warm server, median of
  ``--repeat`` visits, from a fresh browser profile (nothing cached) and from a
  returning browser (JavaScript cached); targets: < 3 s on the shipped results,
  < 6 s on the 1M-point tree;
* filter re-render: the Explorer's "Log scale" toggle flipped, to the chart redrawn
  with the new axis (median of ``--repeat``; target < 0.5 s);
* ``--sessions`` concurrent sessions opening the Overview at once: errors and p50/p95.

Figures depend on the machine's load: say what else was running when you quote them.
Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CHART = '[data-testid="stPlotlyChart"] .main-svg'
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
# The Overview has no plotly chart (its status bar is HTML, see dashboard/charts.py:status_html):
# it is rendered when that bar and every visible table on it are drawn (a table in a closed expander is not).
OVERVIEW_READY = """() => {
    const tables = [...document.querySelectorAll('[data-testid="stDataFrame"]')].filter(e => e.checkVisibility());
    return !!document.querySelector('.ts-status') && tables.length > 0 && tables.every(e => e.querySelector('canvas'));
}"""
EXCEPTION = '[data-testid="stException"]'
PAGES = {
    "overview": "",
    "regressions": "regressions",
    "speedups": "speedups",
    "roofline": "roofline",
    "hardware": "hardware",
    "explorer": "explorer",
    "accuracy": "accuracy",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(results: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENSORSCOPE_")}
    cmd = [sys.executable, "-m", "tensorscope.cli", "dashboard", str(results), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"the dashboard exited with {proc.returncode}") from None
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("the dashboard did not start within 120 s")


def is_overview(url: str) -> bool:
    path = url.split("://", 1)[-1].partition("/")[2].partition("?")[0].strip("/")
    return path in ("", "overview")


def rendered(page: Any, url: str, timeout_ms: int = 600_000) -> None:
    """Wait until the page at ``url`` is drawn: the Overview's status bar and tables, any other page's chart; and the script idle."""
    if is_overview(url):
        page.wait_for_function(OVERVIEW_READY, timeout=timeout_ms)
    else:
        page.wait_for_selector(CHART, timeout=timeout_ms)
    page.wait_for_function(IDLE, timeout=timeout_ms)


def visit(browser: Any, url: str, context: Any = None) -> tuple[float, bool]:
    """Seconds from navigation to chart drawn and script idle, in a new Streamlit session; and whether an exception showed.

    Without ``context``: a fresh browser profile (nothing cached: Streamlit's and plotly's
    JavaScript are fetched and compiled again). With one: a returning visitor whose
    browser has them cached (still a new page, so a new Streamlit session).
    """
    own = context is None
    if own:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit")
    rendered(page, url)
    elapsed = time.perf_counter() - t0
    error = page.locator(EXCEPTION).count() > 0
    page.close()
    if own:
        context.close()
    return elapsed, error


def filter_change(browser: Any, url: str, repeat: int) -> list[float]:
    """Flip the explorer's log-scale toggle; time until the chart has the new y axis type."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{url}/explorer", wait_until="commit")
    rendered(page, f"{url}/explorer")
    times = []
    toggle = page.get_by_text("Log scale", exact=True)
    for _ in range(repeat):
        current = page.evaluate("() => document.querySelector('.js-plotly-plot')._fullLayout.yaxis.type")
        want = "linear" if current == "log" else "log"
        t0 = time.perf_counter()
        toggle.click()
        page.wait_for_function("(t) => document.querySelector('.js-plotly-plot')._fullLayout.yaxis.type === t", arg=want, timeout=60_000)
        times.append(time.perf_counter() - t0)
        page.wait_for_function(IDLE, timeout=60_000)
    context.close()
    return times


async def concurrent(url: str, sessions: int) -> tuple[list[float], int]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        async def one() -> tuple[float, bool]:
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            page = await context.new_page()
            t0 = time.perf_counter()
            try:
                await page.goto(url, wait_until="commit")
                if is_overview(url):
                    await page.wait_for_function(OVERVIEW_READY, timeout=600_000)
                else:
                    await page.wait_for_selector(CHART, timeout=600_000)
                await page.wait_for_function(IDLE, timeout=600_000)
                failed = await page.locator(EXCEPTION).count() > 0
            except Exception:
                failed = True
            elapsed = time.perf_counter() - t0
            await context.close()
            return elapsed, failed

        results = await asyncio.gather(*(one() for _ in range(sessions)))
        await browser.close()
    return [r[0] for r in results], sum(r[1] for r in results)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="?", type=Path, default=REPO / "results")
    ap.add_argument("--big", action="store_true", help="generate and serve a 1M-point tree instead")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    results: Path = args.results
    if args.big:
        results = Path(tempfile.mkdtemp(prefix="tensorscope-1m-")) / "results"
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, str(REPO / "scripts" / "generate_results_tree.py"), str(results)], check=True, stdout=subprocess.DEVNULL
        )
        print(f"generated a 1M-point tree at {results} in {time.perf_counter() - t0:.1f} s")
    print(f"results: {results}   cores: {os.cpu_count()}   load average: {os.getloadavg()[0]:.1f}")
    proc, url = serve(results)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            cold, error = visit(browser, f"{url}/")
            print(f"cold first render (server just started, caches empty), overview: {cold:.2f} s{'  EXCEPTION SHOWN' if error else ''}")
            returning = browser.new_context(viewport={"width": 1400, "height": 1000})
            for path in PAGES.values():  # warm every page's caches (server and browser) once
                visit(browser, f"{url}/{path}", returning)
            for name, path in PAGES.items():
                fresh = [visit(browser, f"{url}/{path}") for _ in range(args.repeat)]
                cached = [visit(browser, f"{url}/{path}", returning) for _ in range(args.repeat)]
                errors = sum(e for _, e in fresh + cached)
                print(
                    f"warm server, {name:<12} fresh browser median {statistics.median(t for t, _ in fresh):.2f} s"
                    f" | returning browser median {statistics.median(t for t, _ in cached):.2f} s"
                    f"  max {max(t for t, _ in fresh + cached):.2f} s  ({2 * args.repeat} new sessions, {errors} errors)"
                )
            returning.close()
            changes = filter_change(browser, url, args.repeat)
            print(
                f"filter change (explorer log-scale toggle) median {statistics.median(changes):.3f} s  max {max(changes):.3f} s  ({len(changes)} flips)"
            )
            browser.close()
        times, failed = asyncio.run(concurrent(f"{url}/", args.sessions))
        print(
            f"{args.sessions} concurrent sessions, overview: {failed} errors, p50 {pct(times, 0.5):.2f} s, p95 {pct(times, 0.95):.2f} s, max {max(times):.2f} s"
        )
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
