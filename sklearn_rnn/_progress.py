"""Progress bars for ``verbose=2``: what a person watching sees, and what a log keeps.

Where someone watches (a terminal, or a Jupyter notebook) and tqdm is installed, a
tqdm bar with the rate and the time left, redrawn at most ten times a second; on a
terminal without tqdm, one line of our own redrawn as often. Into a file or a pipe,
plain lines at each quarter of the work (or every half minute when its size is
unknown): no carriage returns, no escape codes, so a log file reads cleanly. An
``EnsembleTagger`` fitting members side by side asks for plain lines, so that two
processes never redraw the same terminal line.
"""

import importlib.util
import sys
import time

_PLAIN_EVERY = 30.0  # seconds between plain lines when the total is unknown


def watched(stream):
    """Whether a person watches ``stream``: a terminal, or a notebook's stderr."""
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return True
    return stream in (sys.stderr, sys.stdout) and _in_notebook()


def _in_notebook():
    ipython = sys.modules.get("IPython")
    shell = getattr(ipython, "get_ipython", lambda: None)() if ipython else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def _tqdm_class(stream):
    if importlib.util.find_spec("tqdm") is None:
        return None
    if stream in (sys.stderr, sys.stdout) and _in_notebook():
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm


class Bar:
    """One unit of work counted up to ``total`` (``None``: unknown).

    Parameters
    ----------
    total : int or None
    desc : str
        What is counted, shown first (``"epoch 3"``).
    unit : str
        One item (``"batch"``, ``"char"``).
    stream : file-like or None
        Where to draw; ``None`` is ``sys.stderr`` at the time of drawing.
    plain : bool
        Plain lines even where a person watches.
    interval : float
        Seconds between redraws of a watched bar.
    started : float or None
        When the work began (``time.perf_counter()``); ``None`` is now.
    """

    def __init__(
        self,
        total,
        *,
        desc,
        unit,
        stream=None,
        plain=False,
        interval=0.1,
        started=None,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.out = sys.stderr if stream is None else stream
        self.interval = interval
        self.interactive = not plain and watched(self.out)
        self.drawn = time.perf_counter()
        self.started = self.drawn if started is None else started
        self.done = 0
        self.tqdm = None
        tqdm = _tqdm_class(self.out) if self.interactive else None
        if tqdm is not None:
            self.tqdm = tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=self.out,
                mininterval=interval,
                leave=False,
                dynamic_ncols=True,
            )
        quarters = () if total is None else (1, 2, 3, 4)
        self._quarters = {max(1, round(total * q / 4)) for q in quarters}

    def update(self, done):
        """``done`` items are finished (a count, not an increment)."""
        before = self.done
        step, self.done = done - before, done
        if self.tqdm is not None:
            self.tqdm.update(step)
            return
        now = time.perf_counter()
        finished = self.total is not None and done >= self.total
        if self.interactive:
            if now - self.drawn < self.interval and not finished:
                return
            self.out.write("\r" + self._line(now) + ("\n" if finished else ""))
        else:
            # a quarter passed since the last update (work may advance in leaps)
            due = any(before < q <= done for q in self._quarters) or (
                self.total is None and now - self.drawn >= _PLAIN_EVERY
            )
            if not due:
                return
            self.out.write(self._line(now) + "\n")
        self.drawn = now
        self.out.flush()

    def close(self):
        if self.tqdm is not None:
            self.tqdm.close()
        elif self.interactive and self.total is None and self.done:
            self.out.write("\n")  # end the redrawn line
            self.out.flush()

    def _line(self, now):
        elapsed = now - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        units = self.unit + ("es" if self.unit.endswith(("ch", "s")) else "s")
        if self.total is None:
            count = f"{self.done} {units}"
            left = ""
        else:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            count = (
                f"[{'#' * filled}{'.' * (width - filled)}] "
                f"{self.done}/{self.total} {units}"
            )
            remaining = (self.total - self.done) / rate if rate > 0 else 0.0
            left = f", {remaining:.0f} s left" if self.done < self.total else ""
        return f"{self.desc} {count}, {rate:,.1f} {self.unit}/s, {elapsed:.1f} s{left}"
