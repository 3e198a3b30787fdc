"""A private X display (Xvfb) for work that needs a screen on a machine without one:
experts recorded through OS input, evaluation on the desktop, tests.

``-noreset``: without it the server resets (and recentres the pointer) whenever its last
client disconnects, e.g. between two xdotool calls. Stopped by its PID, never by name.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import weakref

from screenpilot.dataset.errors import UserError


def free_display_number(first: int = 90, count: int = 100) -> int:
    """A display number with neither a socket nor a lock file (another server's)."""
    for n in range(first, first + count):
        if not os.path.exists(f"/tmp/.X11-unix/X{n}") and not os.path.exists(f"/tmp/.X{n}-lock"):
            return n
    raise UserError(f"no free X display number in :{first}..:{first + count - 1}")


class VirtualDisplay:
    """``with VirtualDisplay((1280, 720)) as name:`` ... an Xvfb at ``name`` (":93")."""

    def __init__(self, size: tuple[int, int] = (1280, 720), first: int = 90, count: int = 100):
        self.size = size
        self.first, self.count = first, count
        self.name: str | None = None
        self._proc: subprocess.Popen | None = None

    def start(self) -> str:
        if not shutil.which("Xvfb"):
            raise UserError("Xvfb is not installed: apt-get install xvfb (make setup does)")
        # Two processes may pick the same free number at once: the loser's server exits
        # (the lock file is taken), and it tries the next number.
        for _ in range(5):
            n = free_display_number(self.first, self.count)
            width, height = self.size
            proc = subprocess.Popen(
                ["Xvfb", f":{n}", "-screen", "0", f"{width}x{height}x24", "-nolisten", "tcp",
                 "-noreset"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                if os.path.exists(f"/tmp/.X11-unix/X{n}"):
                    self._proc, self.name = proc, f":{n}"
                    # A process that ends without stop() (an exception, sys.exit) takes
                    # its server with it; only SIGKILL can leave one behind.
                    self._finalizer = weakref.finalize(self, _stop_server, proc)
                    return self.name
                time.sleep(0.05)
            proc.kill()
            proc.wait()
        raise UserError("Xvfb did not start (5 tries)")

    def stop(self) -> None:
        if self._proc is not None:
            self._finalizer.detach()
            _stop_server(self._proc)
        self._proc = self.name = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
