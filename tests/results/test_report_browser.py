"""The report opens in headless Chromium with networking disabled: no error, no request, every chart drawn.

Chromium (Debian's ``chromium`` package) is driven over the DevTools protocol (``websocket-client``):
console errors, uncaught exceptions, log errors (CSP violations among them), failed requests and any
request that is not the report itself are collected while the page loads; then every ``.chart``
container must hold a drawn plotly SVG of non-zero size. The screenshot is kept in
``runs/test-artefacts/report.png``. The flagship FPV report must stay under 10 MB; the time it takes
to open (navigation start to every chart drawn) is printed, not asserted — timings are measured by
benchmarks, never by the suite.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from results.report import build_report

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FPV = ROOT / "scenarios" / "fpv_drones_2024_2025.yaml"
SMALL = ROOT / "scenarios" / "small_routers.yaml"
ARTEFACTS = ROOT / "runs" / "test-artefacts"
MAX_BYTES = 10_000_000

pytestmark = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="no /usr/bin/chromium (Debian package `chromium`; make test's set-up installs it)"
)
websocket = pytest.importorskip("websocket", reason="websocket-client (dev extra) drives Chromium over DevTools")

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1400,1000",
    # networking off: every proxied request goes to a closed port, every host name fails to resolve
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
CHARTS_JS = """JSON.stringify(Array.from(document.querySelectorAll('.chart')).map(function (d) {
  var svg = d.querySelector('.main-svg'); var b = svg ? svg.getBoundingClientRect() : null;
  return {id: d.id, children: d.childElementCount, width: b ? b.width : 0, height: b ? b.height : 0,
          traces: d.querySelectorAll('.trace, .sankey, .hm, image').length};
}))"""
TIMING_JS = """JSON.stringify({load: performance.getEntriesByType('navigation')[0].loadEventEnd,
  plots: Number(document.documentElement.getAttribute('data-plots-ms'))})"""


class Browser:
    """Headless Chromium and one page, driven over the DevTools protocol."""

    def __init__(self) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="aidflow-chromium-"))
        self.proc = subprocess.Popen(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.events: list[dict[str, Any]] = []
        self._id = 0
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        browser = websocket.create_connection(f"ws://127.0.0.1:{port}{path}", timeout=60, suppress_origin=True)
        try:
            self.ws = browser
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        except BaseException:
            self.close()
            raise
        self.session = session
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=True)

    def send(self, method: str, session: bool = False, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer, keeping the events that arrive meanwhile."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result", {}))
            self.events.append(reply)

    def evaluate(self, expression: str) -> Any:
        """Value of a JavaScript expression in the page."""
        res = self.send("Runtime.evaluate", session=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in res:
            raise RuntimeError(res["exceptionDetails"])
        return res["result"].get("value")

    def open(self, path: Path, timeout: float = 60.0) -> dict[str, float]:
        """Load a file and wait for the load event and every chart; returns the page's timings (ms)."""
        self.events.clear()
        self.send("Page.navigate", session=True, url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            assert time.monotonic() < deadline, "no load event"
            self.events.append(json.loads(self.ws.recv()))
        while self.evaluate("document.documentElement.getAttribute('data-plots')") is None:
            assert time.monotonic() < deadline, "the charts were never drawn"
            time.sleep(0.05)
        return dict(json.loads(self.evaluate(TIMING_JS)))

    def problems(self, page: Path) -> list[str]:
        """Console errors, exceptions, log errors, failed requests and requests for anything but ``page``."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p['args']]}")
            elif m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails']}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed":
                out.append(f"failed request: {p.get('errorText')} {p.get('blockedReason', '')}")
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if url != page.resolve().as_uri() and not url.startswith(("data:", "blob:", "about:")):
                    out.append(f"request: {url[:200]}")
        return out

    def screenshot(self, path: Path) -> None:
        """Full-page PNG screenshot."""
        size = self.send("Page.getLayoutMetrics", session=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 16_000), "scale": 1}
        data = self.send("Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True, clip=clip)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data["data"]))

    def close(self) -> None:
        """Stop this Chromium (and only it) and remove its profile."""
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser()
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def fpv_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_report import make_run

    scenario = FPV if FPV.is_file() else SMALL
    run_dir = make_run(scenario, tmp_path_factory.mktemp("browser") / "fpv", 2, cli=True)
    return build_report(run_dir)


@pytest.fixture(scope="module")
def compare_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_report import make_run

    run_dir = make_run(SMALL, tmp_path_factory.mktemp("browser") / "cmp", 2, ("baseline", "bilateral", "more_lanes"))
    return build_report(run_dir)


def check_page(browser: Browser, report: Path) -> dict[str, float]:
    timing = browser.open(report)
    assert browser.evaluate("document.documentElement.getAttribute('data-plots')") == "ready"
    assert browser.problems(report) == []
    charts = json.loads(browser.evaluate(CHARTS_JS))
    assert len(charts) >= 10
    empty = [c for c in charts if not (c["children"] and c["width"] > 0 and c["height"] > 0 and c["traces"])]
    assert empty == [], f"empty chart containers: {empty}"
    return timing


def test_fpv_report_opens_offline(browser: Browser, fpv_report: Path) -> None:
    size = fpv_report.stat().st_size
    assert size < MAX_BYTES, f"{fpv_report.name} is {size / 1e6:.1f} MB"
    timing = check_page(browser, fpv_report)
    browser.screenshot(ARTEFACTS / "report.png")
    assert (ARTEFACTS / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the opening time is printed, not asserted: timings belong to benchmarks/, not to the suite
    seconds = max(timing["load"], timing["plots"]) / 1000
    print(f"\nFPV report: {size / 1e6:.2f} MB, opened in {seconds:.2f} s")


def test_compare_report_draws_the_forest_plot(browser: Browser, compare_report: Path) -> None:
    check_page(browser, compare_report)
    assert browser.evaluate("document.querySelector('#fig-forest .main-svg') !== null")
    browser.screenshot(ARTEFACTS / "report-compare.png")


def test_the_harness_sees_requests_and_errors(browser: Browser, tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://example.org/x.png">'
        "<script>console.error('boom');"
        "document.documentElement.setAttribute('data-plots', 'ready');</script></body></html>",
        encoding="utf-8",
    )
    browser.open(page)
    deadline = time.monotonic() + 10
    while not any(e.get("method") == "Network.loadingFailed" for e in browser.events):
        assert time.monotonic() < deadline, "the blocked request never failed"
        browser.send("Runtime.evaluate", session=True, expression="1")
    found = "\n".join(browser.problems(page))
    assert "console.error" in found and "boom" in found
    assert "request: http://example.org/x.png" in found and "failed request" in found
