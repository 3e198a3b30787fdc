"""Stopping a recording on a signal (Ctrl+C, SIGTERM) by setting a threading.Event.

A Python signal handler runs in the main thread, between two of its bytecodes, possibly
while that thread is inside ``stop.wait()`` holding the event's own (non-reentrant) lock.
``stop.set()`` called right there waits for that lock forever: a `record desktop` in CI
once never stopped, its main thread blocked in the handler. So the handler hands the
``set`` to a short-lived thread, which takes the lock once the main thread lets go.
"""

from __future__ import annotations

import signal
import threading


def stop_on_signals(stop: threading.Event, signals) -> dict:
    """Make each of ``signals`` set ``stop``. Only the main thread may install handlers:
    elsewhere nothing is installed. -> the previous handlers, for ``restore_signals``."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {s: signal.getsignal(s) for s in signals}

    def handler(*_):
        threading.Thread(target=stop.set, name="stop-on-signal", daemon=True).start()

    for s in previous:
        signal.signal(s, handler)
    return previous


def restore_signals(previous: dict) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
