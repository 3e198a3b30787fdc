"""A stop signal sets the recording's stop event even when it lands while the main thread
holds that event's lock (inside ``stop.wait()``): calling ``stop.set()`` in the handler
itself would wait for that lock forever, which once left a recorder running in CI."""

import os
import signal
import threading
import time

from screenpilot.recorder.stop_signals import restore_signals, stop_on_signals


def test_a_signal_while_the_main_thread_holds_the_events_lock_still_stops():
    stop = threading.Event()
    previous = stop_on_signals(stop, (signal.SIGUSR1,))
    try:
        # Where stop.wait() holds the lock between waits: the handler runs right here,
        # in this thread, at the next bytecode after the signal arrives.
        with stop._cond:
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.05)
            assert not stop.is_set()  # the set waits for this thread to let go ...
        assert stop.wait(5)  # ... and happens as soon as it does
    finally:
        restore_signals(previous)
    assert signal.getsignal(signal.SIGUSR1) == previous[signal.SIGUSR1]


def test_off_the_main_thread_nothing_is_installed():
    stop, out = threading.Event(), {}
    thread = threading.Thread(target=lambda: out.update(stop_on_signals(stop, (signal.SIGUSR1,))))
    thread.start()
    thread.join()
    assert out == {}
