"""What long work prints: one progress-bar factory that suits both a terminal and a log.

On a terminal a bar redraws ten times a second. Written to a file or a pipe (CI, `nohup`,
`2> train.log`) it redraws at most every ``LOG_INTERVAL_S``, so a 20-minute run adds tens
of lines to a log, not thousands. ``--quiet`` (``set_quiet(True)``) turns every bar off.
"""

from __future__ import annotations

import sys

# A log gets a bar line at most this often.
LOG_INTERVAL_S = 30.0

_quiet = False


def set_quiet(quiet: bool) -> None:
    """Turn progress bars off (the CLI's ``--quiet``)."""
    global _quiet
    _quiet = bool(quiet)


def progress_bar(iterable=None, *, total=None, desc=None, unit="it", disable=False, **kwargs):
    """A ``tqdm`` bar on stderr; ``disable=True`` or ``--quiet`` hides it. Callers pass
    ``refresh=False`` to ``set_postfix``: a forced redraw would ignore the interval."""
    from tqdm import tqdm

    on_terminal = sys.stderr.isatty()
    interval = 0.1 if on_terminal else LOG_INTERVAL_S
    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        disable=bool(disable) or _quiet,
        file=sys.stderr,
        mininterval=interval,
        # tqdm's monitor thread otherwise forces a redraw every 10 s.
        maxinterval=max(interval, 10.0),
        dynamic_ncols=on_terminal,
        **kwargs,
    )
