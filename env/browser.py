"""The Chromium that a BrowserEnv owns: finding it, launching it, fencing it off the
network, and making sure it is gone afterwards.

Playwright is imported inside the functions that use it, so that importing ``env`` (for
``screenpilot --help`` or for task names) never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dataset.errors import UserError

# Measured to work here (STACK.md): no GPU, no sandbox (we run as root in a container),
# and nothing that phones home in the background.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    # Keeps timers and rAF running at full speed in pages nobody is looking at;
    # several headless browsers at once would otherwise slow each other's tasks.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # A wheel action scrolls at once, so the next screenshot shows where it ended.
    "--disable-smooth-scrolling",
)
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")

# Playwright's own timeout for one action; a hung page must not hang an episode.
ACTION_TIMEOUT_MS = 5_000


class BrowserNotFoundError(UserError):
    """No Chromium binary to drive."""


class BrowserCrashedError(RuntimeError):
    """The browser (or its page) went away in the middle of an episode."""


def find_chromium() -> str:
    """The Chromium to launch: ``$SCREENPILOT_CHROMIUM`` if set, else Debian's."""
    override = os.environ.get("SCREENPILOT_CHROMIUM")
    if override:
        if not Path(override).is_file():
            raise BrowserNotFoundError(f"SCREENPILOT_CHROMIUM={override} is not a file")
        return override
    for candidate in (*CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserNotFoundError(
        "no Chromium found: apt-get install chromium, or set SCREENPILOT_CHROMIUM"
    )


def host_allowed(url: str, allowed_hosts: frozenset[str]) -> bool:
    """Whether a request to ``url`` may leave the sandbox. Local files and inline data
    never touch the network; every other scheme needs its host listed (a listed host
    also admits its subdomains)."""
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about", "chrome-error"):
        return True
    host = (parts.hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in allowed_hosts)


@dataclass
class BrowserSession:
    """One Chromium, one context, one page. Re-created from scratch after a crash."""

    viewport: tuple[int, int]  # (width, height)
    headless: bool = True
    allowed_hosts: frozenset[str] = frozenset()
    blocked_urls: list[str] = field(default_factory=list)
    _playwright: object = None
    _browser: object = None
    _context: object = None
    page: object = None
    _pids: set[int] = field(default_factory=set)

    def start(self) -> None:
        if not self.headless and not os.environ.get("DISPLAY"):
            raise UserError("headless=False needs an X display: set $DISPLAY")
        playwright = _DRIVER.acquire()
        before = set(_descendant_pids())
        try:
            self._browser = playwright.chromium.launch(
                executable_path=find_chromium(), headless=self.headless, args=list(CHROMIUM_ARGS)
            )
        except Exception:
            _DRIVER.release()
            raise
        self._playwright = playwright
        self._pids = set(_descendant_pids()) - before
        width, height = self.viewport
        self._context = self._browser.new_context(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            # A service worker could fetch behind the routes' back.
            service_workers="block",
        )
        self._context.route("**/*", self._filter_request)
        if hasattr(self._context, "route_web_socket"):
            self._context.route_web_socket("**/*", self._filter_websocket)
        self.page = self._context.new_page()
        self.page.set_default_timeout(ACTION_TIMEOUT_MS)

    @property
    def alive(self) -> bool:
        try:
            return (
                self._browser is not None
                and self._browser.is_connected()
                and self.page is not None
                and not self.page.is_closed()
            )
        except Exception:
            return False

    def _filter_request(self, route) -> None:
        url = route.request.url
        if host_allowed(url, self.allowed_hosts):
            route.continue_()
        else:
            self.blocked_urls.append(url)
            route.abort("blockedbyclient")

    def _filter_websocket(self, ws) -> None:
        if host_allowed(ws.url.replace("ws", "http", 1), self.allowed_hosts):
            ws.connect_to_server()
        else:
            self.blocked_urls.append(ws.url)
            ws.close()

    def close(self) -> None:
        """Close politely, then make sure: kill whatever this session launched."""
        for closer in (
            lambda: self._context and self._context.close(),
            lambda: self._browser and self._browser.close(),
        ):
            # A crashed browser cannot be closed politely; it is killed below.
            with contextlib.suppress(Exception):
                closer()
        kill_pids(self._pids)
        if self._playwright is not None:
            _DRIVER.release()
        self._playwright = self._browser = self._context = self.page = None
        self._pids = set()


class _SharedDriver:
    """One Playwright driver per process, shared by every session in it: the sync API
    refuses a second one while the first runs, and check_env opens envs side by side.
    The driver stops (and its process is gone) when the last session closes."""

    def __init__(self) -> None:
        self._playwright = None
        self._users = 0
        self._pids: set[int] = set()

    def acquire(self):
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            before = set(_descendant_pids())
            self._playwright = sync_playwright().start()
            self._pids = set(_descendant_pids()) - before
        self._users += 1
        return self._playwright

    def release(self) -> None:
        self._users -= 1
        if self._users > 0:
            return
        with contextlib.suppress(Exception):
            self._playwright.stop()
        kill_pids(self._pids)
        self._playwright, self._users, self._pids = None, 0, set()


_DRIVER = _SharedDriver()


def kill_pids(pids: set[int], grace_s: float = 2.0) -> None:
    """SIGTERM, wait a little, then SIGKILL, only the given processes."""
    alive = {p for p in pids if _pid_alive(p)}
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while alive and time.monotonic() < deadline:
        alive = {p for p in alive if _pid_alive(p)}
        if alive:
            time.sleep(0.02)
    for pid in alive:
        _signal(pid, signal.SIGKILL)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, sig)


def _pid_alive(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _descendant_pids(root: int | None = None) -> list[int]:
    """Every live process below ``root`` (this process by default), read from /proc:
    the Playwright driver and the Chromium processes it starts."""
    root = os.getpid() if root is None else root
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields_after_name = stat.rsplit(")", 1)[1].split()
        if fields_after_name[0] == "Z":
            continue
        children.setdefault(int(fields_after_name[1]), []).append(int(entry.name))
    out, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            out.append(child)
            stack.append(child)
    return out


def descendant_pids() -> list[int]:
    """Public for tests: processes this Python process has started, still alive."""
    return _descendant_pids()
