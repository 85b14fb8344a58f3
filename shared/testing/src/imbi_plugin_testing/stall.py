"""How long a plugin call keeps the event loop from running anything else.

Work a plugin does on the event loop (a regular expression over a long
line, parsing a large body, importing boto3) blocks every other request
of the host meanwhile, and neither ``timeout_seconds`` nor the host's
10 s ``wait_for`` can interrupt it. :class:`StallMeter` measures the
longest such stall during a block; :func:`watchdog` turns a runaway
stall into an exception instead of a hung test run.
"""

import asyncio
import collections.abc
import contextlib
import signal
import time
import types

#: How often the meter's task wakes; stalls shorter than this are noise.
TICK_SECONDS = 0.005


class LoopStalled(BaseException):
    """Raised by :func:`watchdog` in the main thread: the loop is stuck.

    A BaseException, so that no plugin's ``except Exception`` hides it.
    """


class StallMeter:
    """``async with StallMeter() as meter:`` ... ``meter.longest``.

    A task wakes every :data:`TICK_SECONDS`; the longest lateness of a
    wake-up (and of the interval still open at the end) is the longest
    time the loop ran something else without yielding.
    """

    def __init__(self) -> None:
        self.longest = 0.0
        self._last = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.perf_counter()
            self._note(now)

    def _note(self, now: float) -> None:
        self.longest = max(self.longest, now - self._last - TICK_SECONDS)
        self._last = now

    async def __aenter__(self) -> StallMeter:
        self._last = time.perf_counter()
        self._task = asyncio.create_task(self._tick())
        # Let the task start, so the block's first step is measured.
        await asyncio.sleep(0)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self._note(time.perf_counter())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.contextmanager
def watchdog(seconds: float) -> collections.abc.Iterator[None]:
    """Raise :class:`LoopStalled` in the main thread after ``seconds``.

    SIGALRM interrupts even a regular expression running in C; the
    timer is cleared when the block ends. Main thread, Unix only.
    """

    def expire(signum: int, frame: types.FrameType | None) -> None:
        raise LoopStalled(f'still running after {seconds:.0f} s')

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
