"""The Chromium that a BrowserEnv owns: finding it, launching it (the headless shell
under frame control when headless), fencing it off the network, and making sure it is
gone afterwards.

Playwright is imported inside the functions that use it, so that importing ``env`` (for
``screenpilot --help`` or for task names) never pays for it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from screenpilot.dataset.errors import UserError

from .cdp import CDPConnection

# Chromium as it runs on a server: no GPU, no sandbox (it refuses to start its sandbox as
# root in a container), and nothing that phones home in the background (on a closed
# network those connections fail, many at a time, at every start).
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
# Debian's build of Chromium's old headless mode: the one that lets us draw frames on
# demand (env/frames.py), so a screenshot costs ~4 ms instead of ~33. Preferred headless.
HEADLESS_SHELL_CANDIDATES = ("/usr/bin/chromium-headless-shell", "/usr/bin/chrome-headless-shell")
FRAME_CONTROL_ARGS = (
    "--enable-begin-frame-control",
    # Required by BeginFrame with a screenshot: the frame waits for the page's own
    # drawing, so it shows everything the action did.
    "--run-all-compositor-stages-before-draw",
    # Our frame pump's own DevTools connection; local only, port picked by the OS.
    "--remote-debugging-port=0",
)
# Keeps a page drawable under frame control: pickers in the page, no blinking caret.
FRAME_CONTROL_PAGE_JS = Path(__file__).with_name("frame_control_page.js")

# Playwright's own timeout for one action; a hung page must not hang an episode.
ACTION_TIMEOUT_MS = 5_000


class BrowserNotFoundError(UserError):
    """No Chromium binary to drive."""


class BrowserCrashedError(RuntimeError):
    """The browser (or its page) went away in the middle of an episode."""


def find_chromium(headless: bool = False) -> str:
    """The Chromium to launch: ``$SCREENPILOT_CHROMIUM`` if set, else Debian's (its
    headless shell first when headless)."""
    override = os.environ.get("SCREENPILOT_CHROMIUM")
    if override:
        if not Path(override).is_file():
            raise BrowserNotFoundError(f"SCREENPILOT_CHROMIUM={override} is not a file")
        return override
    preferred = HEADLESS_SHELL_CANDIDATES if headless else ()
    for candidate in (*preferred, *CHROMIUM_CANDIDATES, shutil.which("chromium") or ""):
        if candidate and Path(candidate).is_file():
            return candidate
    raise BrowserNotFoundError(
        "no Chromium found: apt-get install chromium, or set SCREENPILOT_CHROMIUM"
    )


def is_headless_shell(executable: str) -> bool:
    """Only the headless shell (Debian's chromium-headless-shell, Google's
    chrome-headless-shell) supports BeginFrame control."""
    return "headless-shell" in Path(executable).name or "headless_shell" in executable


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

    viewport: tuple[int, int]  # (width, height) of the window the page lays out in
    screen_size: tuple[int, int] | None = None  # the top-left part screenshots show
    headless: bool = True
    display: str | None = None  # the X display a headed browser opens on (default $DISPLAY)
    allowed_hosts: frozenset[str] = frozenset()
    blocked_urls: list[str] = field(default_factory=list)
    _playwright: object = None
    _browser: object = None
    _context: object = None
    page: object = None
    frames: object = None  # env.frames.PumpedFrames or ScreenshotFrames
    mouse: object = None  # env.mouse.CDPMouse under frame control, else page.mouse
    keyboard: object = None  # env.keyboard.CDPKeyboard under frame control, else page.keyboard
    frame_control: bool = False  # the headless shell, its frames drawn by us (env/frames.py)
    _pids: set[int] = field(default_factory=set)
    _profile_dir: str | None = None

    def start(self) -> None:
        display = self.display or os.environ.get("DISPLAY")
        if not self.headless and not display:
            raise UserError("headless=False needs an X display: set $DISPLAY")
        executable = find_chromium(self.headless)
        self.frame_control = self.headless and is_headless_shell(executable)
        playwright = _DRIVER.acquire()
        self._playwright = playwright
        before = set(_descendant_pids())
        width, height = self.viewport
        context_options = dict(
            viewport={"width": width, "height": height},
            device_scale_factor=1,
            # A service worker could fetch behind the routes' back.
            service_workers="block",
        )
        try:
            if self.frame_control:
                self._launch_under_frame_control(playwright, executable, context_options)
            else:
                # The display goes in the browser's own environment: the Playwright
                # driver that launches it may have started before it was chosen.
                self._browser = playwright.chromium.launch(
                    executable_path=executable, headless=self.headless, args=list(CHROMIUM_ARGS),
                    env=None if self.headless else {**os.environ, "DISPLAY": display},
                )  # fmt: skip
                self._context = self._browser.new_context(**context_options)
                self.page = self._context.new_page()
        except Exception:
            self._pids = set(_descendant_pids()) - before
            self.close()
            raise
        self._pids = set(_descendant_pids()) - before
        self._context.route("**/*", self._filter_request)
        if hasattr(self._context, "route_web_socket"):
            self._context.route_web_socket("**/*", self._filter_websocket)
        self.page.set_default_timeout(ACTION_TIMEOUT_MS)
        if not self.frame_control:
            from .frames import ScreenshotFrames

            self.frames = ScreenshotFrames(self.page, self.viewport)
            self.mouse, self.keyboard = self.page.mouse, self.page.keyboard

    def _launch_under_frame_control(
        self, playwright, executable: str, context_options: dict
    ) -> None:
        """The headless shell with a page under BeginFrame control. Such a page can only
        be made with ``Target.createTarget(enableBeginFrameControl=True)``, which lands
        in the browser's default context: hence a persistent context (that default
        context, in a throwaway profile)."""
        from .frames import PumpedFrames
        from .keyboard import CDPKeyboard
        from .mouse import CDPMouse

        self._profile_dir = tempfile.mkdtemp(prefix="screenpilot-chromium-")
        self._context = playwright.chromium.launch_persistent_context(
            self._profile_dir,
            executable_path=executable,
            headless=True,
            args=[*CHROMIUM_ARGS, *FRAME_CONTROL_ARGS],
            **context_options,
        )
        self._browser = self._context.browser
        self._context.add_init_script(path=FRAME_CONTROL_PAGE_JS)
        blank = self._context.pages[0]
        with self._context.expect_page() as new_page:
            target = self._context.new_cdp_session(blank).send(
                "Target.createTarget", {"url": "about:blank", "enableBeginFrameControl": True}
            )
        self.page = new_page.value
        blank.close()
        port = _devtools_port(Path(self._profile_dir))
        page_url = f"ws://127.0.0.1:{port}/devtools/page/{target['targetId']}"
        self.frames = PumpedFrames(page_url, self.viewport, self.screen_size or self.viewport)
        scripts = _SCRIPT_CONNECTIONS[self.page] = CDPConnection(page_url)
        self.mouse, self.keyboard = CDPMouse(self.frames, scripts.call), CDPKeyboard(self.frames)

    def live_pids(self) -> set[int]:
        return {pid for pid in self._pids if _pid_alive(pid)}

    def park_pointer(self, x: int, y: int) -> None:
        """Move the pointer off the page before an episode starts. Under frame control
        the move is not waited for: the frame of the episode's first screenshot takes it
        before it paints (so nothing is hovered in it), which saves a frame per reset."""
        if self.frame_control:
            self.mouse.move(x, y, wait=False)
        else:
            self.mouse.move(x, y)

    @property
    def alive(self) -> bool:
        try:
            return (
                self._browser is not None
                and self._browser.is_connected()
                and self.page is not None
                and not self.page.is_closed()
                and self.frames.alive
                and not getattr(_SCRIPT_CONNECTIONS.get(self.page), "lost", False)
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
            lambda: self.frames and self.frames.close(),
            lambda: self.page in _SCRIPT_CONNECTIONS and _SCRIPT_CONNECTIONS.pop(self.page).close(),
            lambda: self._context and self._context.close(),
            lambda: self._browser and self._browser.close(),
        ):
            # A crashed browser cannot be closed politely; it is killed below.
            with contextlib.suppress(Exception):
                closer()
        kill_pids(self._pids)
        if self._playwright is not None:
            _DRIVER.release()
        if self._profile_dir:
            shutil.rmtree(self._profile_dir, ignore_errors=True)
        self._playwright = self._browser = self._context = self.page = None
        self.frames = self.mouse = self.keyboard = None
        self._pids, self._profile_dir = set(), None


def _devtools_port(profile_dir: Path, timeout_s: float = 5.0) -> int:
    """Chromium writes the port it picked for ``--remote-debugging-port=0`` here."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((profile_dir / "DevToolsActivePort").read_text().split()[0])
        if time.monotonic() > deadline:
            raise BrowserCrashedError("the headless browser never opened its DevTools port")
        time.sleep(0.01)


# The pages launched under frame control have a DevTools connection of their own too, and
# the env's per-step scripts (start an episode, read the reward) go through it.
_SCRIPT_CONNECTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def evaluate(page, function_js: str, arg=None):
    """``page.evaluate(function_js, arg)`` for JSON values, through the page's own
    DevTools connection when it has one (3x faster), else through Playwright."""
    connection = _SCRIPT_CONNECTIONS.get(page)
    if connection is None:
        return page.evaluate(function_js, arg)
    return connection.call(function_js, arg)


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
