"""Headless Chromium driven over the DevTools protocol, to open a report as a person would.

Chromium listens on a loopback port it picks itself (``--remote-debugging-port=0`` writes it to
``DevToolsActivePort`` in the profile folder); we attach to its blank page before loading the
report, so every console message, uncaught exception, log entry and network request of the load
is seen.
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


class DevToolsError(RuntimeError):
    pass


class Chromium:
    """``with Chromium(binary, profile) as page: page.load(url) ...``"""

    def __init__(self, binary: str, profile: Path, width: int = 1280, height: int = 2000) -> None:
        self.binary, self.profile = binary, profile
        self.width, self.height = width, height
        self.events: list[dict[str, Any]] = []
        self._next = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._ws: ClientConnection | None = None
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> Chromium:
        self.profile.mkdir(parents=True, exist_ok=True)
        self._proc = subprocess.Popen(
            [
                self.binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--mute-audio",
                f"--user-data-dir={self.profile}",
                f"--window-size={self.width},{self.height}",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._port(deadline=time.monotonic() + 30)
        # Loopback only: bypass any proxy the environment configures.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            targets = json.load(resp)
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = self._stack.enter_context(
            connect(page["webSocketDebuggerUrl"], proxy=None, max_size=None, open_timeout=10)
        )
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=self.width,
            height=self.height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return self

    def _port(self, deadline: float) -> int:
        active = self.profile / "DevToolsActivePort"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise DevToolsError(f"chromium exited with code {self._proc.returncode}")
            if active.is_file():
                lines = active.read_text().splitlines()
                if lines and lines[0].strip().isdigit():
                    return int(lines[0])
            time.sleep(0.05)
        raise DevToolsError("chromium did not open its DevTools port within 30 s")

    def __exit__(self, *exc: object) -> None:
        self._stack.close()
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=10)

    def _recv(self, timeout: float) -> dict[str, Any]:
        assert self._ws is not None
        msg: dict[str, Any] = json.loads(self._ws.recv(timeout=timeout))
        if "method" in msg:
            self.events.append(msg)
        return msg

    def call(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        self._next += 1
        ident = self._next
        self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            msg = self._recv(max(deadline - time.monotonic(), 0.01))
            if msg.get("id") == ident:
                if "error" in msg:
                    raise DevToolsError(f"{method}: {msg['error']}")
                result: dict[str, Any] = msg.get("result", {})
                return result

    def wait_for(self, method: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev["method"] == method:
                    return ev
            self._recv(max(deadline - time.monotonic(), 0.01))

    def load(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The JSON value of a JS expression (promises are awaited)."""
        out = self.call(
            "Runtime.evaluate",
            timeout=timeout,
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in out:
            raise DevToolsError(f"evaluation failed: {out['exceptionDetails']}")
        return out["result"].get("value")

    def screenshot(self, path: Path, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": clip is not None}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        data = base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])
        path.write_bytes(data)
        return data

    def click(self, x: float, y: float) -> None:
        for kind in ("mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and error log entries so far."""
        out = []
        for ev in self.events:
            p = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "warning"):
                out.append(f"console.{p['type']}: {[a.get('value') for a in p.get('args', [])]}")
            elif ev["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {p.get('exceptionDetails', {}).get('text')}")
            elif ev["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} ({p['entry'].get('url', '')[:80]})")
        return out

    def requested_urls(self) -> list[str]:
        return [
            ev["params"]["request"]["url"]
            for ev in self.events
            if ev["method"] == "Network.requestWillBeSent"
        ]


#: Pixel statistics of a PNG, computed by the browser itself (it decodes the PNG we give it):
#: mean and spread of the luminance, and the share of pixels near a few colours of the page.
PIXEL_STATS_JS = """
(async function (src, colours) {
  const img = new Image();
  await new Promise((ok, bad) => { img.onload = ok; img.onerror = bad; img.src = src; });
  const c = document.createElement('canvas');
  c.width = img.width; c.height = img.height;
  const g = c.getContext('2d');
  g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let n = 0, s = 0, s2 = 0;
  const near = colours.map(() => 0);
  for (let i = 0; i < d.length; i += 4) {
    const y = 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
    n++; s += y; s2 += y * y;
    colours.forEach((k, j) => {
      if (Math.abs(d[i] - k[0]) + Math.abs(d[i + 1] - k[1]) + Math.abs(d[i + 2] - k[2]) < 40) {
        near[j]++;
      }
    });
  }
  const mean = s / n;
  return {width: c.width, height: c.height, mean: mean, std: Math.sqrt(s2 / n - mean * mean),
          near: near.map((v) => v / n)};
})(%s, %s)
"""


def pixel_stats(page: Chromium, png: bytes, colours: list[tuple[int, int, int]]) -> dict[str, Any]:
    src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    stats: dict[str, Any] = page.evaluate(
        PIXEL_STATS_JS % (json.dumps(src), json.dumps([list(c) for c in colours]))
    )
    return stats
