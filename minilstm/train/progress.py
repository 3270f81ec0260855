"""A progress display for long runs: a tqdm bar with rate and ETA when tqdm is installed, otherwise
a plain line with rate and ETA at every tenth of the run; silent when disabled (notebooks, tests).
Used by :func:`~minilstm.train.fit` and the experiments' CLI.
"""
from __future__ import annotations

import math
import sys
import time

__all__ = ["Progress"]


def _duration(seconds) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else (f"{m}:{s:02d}" if m else f"{s} s")


class Progress:
    """A progress display of ``done`` out of ``total`` with rate and ETA, or nothing.

    ``enabled=False``: silent. Otherwise a tqdm bar (``tqdm.auto``, a widget in notebooks) when
    tqdm is installed and ``use_tqdm`` is not False, else a line on ``file`` (default stderr)
    each time ``done`` passes another tenth of ``total`` and at the end, e.g.
    ``training: 300/1,000 updates (30%), 52.1 updates/s, ETA 13 s, loss 0.12``.
    The ETA assumes the rate so far and the whole ``total`` (a run that stops early ends sooner).

    ``update_to(done, info)`` sets the position (``info``: a short status after the numbers);
    ``write(msg)`` (or calling the object) prints one message line; ``close()`` ends the display.
    """

    def __init__(self, total, desc="", unit="updates", *, enabled=True, use_tqdm=None, file=None):
        self.total, self.desc, self.unit, self.enabled = int(total), desc, unit, bool(enabled)
        self.file = file
        self.bar, self.done, self._printed = None, 0, 0
        self.t0 = time.perf_counter()
        self._every = max(1, self.total // 10)
        if self.enabled and use_tqdm is not False:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                if use_tqdm:
                    raise
            else:
                self.bar = tqdm(total=self.total, desc=desc, unit=f" {unit}",
                                unit_scale=self.total >= 100_000,            # 1.5M symbols
                                dynamic_ncols=True, file=self._file())

    def _file(self):
        return sys.stderr if self.file is None else self.file

    def line(self, info="") -> str:
        """The fallback's text for the current position: counts, percent, rate, ETA, ``info``."""
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else float("inf")
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = _duration(left) if math.isfinite(left) else "?"
        pct = 100.0 * self.done / self.total if self.total else 100.0
        speed = f"{rate:,.0f}" if rate >= 100 else f"{rate:.3g}"
        text = (f"{self.desc}: {self.done:,}/{self.total:,} {self.unit} ({pct:.0f}%), "
                f"{speed} {self.unit}/s, ETA {eta}")
        return text + (f", {info}" if info else "")

    def update_to(self, done, info=""):
        """Move to ``done`` (absolute) with the status ``info``."""
        if not self.enabled:
            return
        done = int(done)
        if self.bar is not None:
            self.bar.update(done - self.done)
            self.done = done
            if info:
                self.bar.set_postfix_str(info, refresh=False)
            return
        self.done = done
        if done >= self._printed + self._every or (done >= self.total > self._printed):
            self._printed = done
            print(self.line(info), file=self._file(), flush=True)

    def write(self, msg):
        """Print one message line (above the bar, if there is one)."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.write(msg, file=self._file())
        else:
            print(msg, file=self._file(), flush=True)

    __call__ = write

    def close(self):
        """End the display (the bar, or a last line if the last position was not printed)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        elif self.enabled and self.done > self._printed:
            self._printed = self.done
            print(self.line("stopped"), file=self._file(), flush=True)
