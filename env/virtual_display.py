"""A private X display (Xvfb) for work that needs a screen on a machine without one:
experts recorded through OS input, evaluation on the desktop, tests, benchmarks.

The server picks a free display number itself (``-displayfd``) and reports it, so two
processes starting one at once never race for a number. ``-noreset``: without it the
server resets (and recentres the pointer) whenever its last client disconnects, e.g.
between two xdotool calls. Stopped by its PID, never by name; a process that ends
without ``stop()`` takes its server with it (only SIGKILL can leave one behind).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
import weakref

from screenpilot.dataset.errors import UserError

START_TIMEOUT_S = 15.0


class VirtualDisplay:
    """``with VirtualDisplay((1280, 720)) as name:`` ... an Xvfb at ``name`` (":3")."""

    def __init__(self, size: tuple[int, int] = (1280, 720)):
        self.size = size
        self.name: str | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        """The server's process (for CPU accounting)."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> str:
        if not shutil.which("Xvfb"):
            raise UserError("Xvfb is not installed: apt-get install xvfb (make setup does)")
        width, height = self.size
        r, w = os.pipe()
        proc = subprocess.Popen(
            ["Xvfb", "-displayfd", str(w), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp", "-noreset"],
            pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(w)
        number = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while not number.endswith(b"\n"):
                ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
                chunk = os.read(r, 16) if ready else b""
                if not chunk:
                    _stop_server(proc)
                    raise UserError(f"Xvfb {width}x{height} did not start")
                number += chunk
        finally:
            os.close(r)
        self._proc, self.name = proc, f":{int(number)}"
        self._finalizer = weakref.finalize(self, _stop_server, proc)
        return self.name

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
    from .browser import kill_pids

    kill_pids({proc.pid})
    proc.wait()  # reaped: no zombie left behind
