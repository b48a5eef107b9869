"""The console script's first code: light, so Ctrl-C during start-up is one line too.

Importing the CLI loads click and every command, which takes a moment; an
interrupt in that moment would print a Python traceback. Here, before anything heavy,
SIGTERM (a CI job's timeout, a runbook's kill) is made to unwind like Ctrl-C, and either
ends the program with one line on stderr and exit 3: the checks could not complete,
nothing was proven safe (the contract's code for an incomplete run, whenever it happens).
"""

from __future__ import annotations

import sys

from restoregate.interrupted import EXIT_INTERRUPTED, say_interrupted

_seen = {"early": False}


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _run() -> object:
    try:
        import gc
        import signal

        # The collector's default pace (a pass every 700 new objects, a full pass over
        # every object now and then) cost 0.45 s of a 10,000-table check's 1.7 s of
        # Python, a pass every 10,000 still 0.12 s: the catalog alone is ~200,000
        # objects, hardly any in a cycle (a whole check leaves ~1,500 cyclic objects on
        # 300 tables of data, ~30,000 on 10,000: a few structures holding many). A pass
        # every 1,000,000 new objects is none in a 10,000-table check and still bounds
        # what cycles a much bigger run could hold. CLI processes only: the library
        # leaves the collector of whoever imports it alone.
        gc.set_threshold(1_000_000, 10, 10)
        signal.signal(signal.SIGTERM, _interrupt)
        from restoregate.cli import run

        gc.freeze()  # the modules just imported live as long as the process
        run()
    except KeyboardInterrupt:  # before the CLI could handle it: while importing
        say_interrupted()
        _seen["early"] = True
        return EXIT_INTERRUPTED
    except SystemExit as exc:
        return exc.code
    return 0


def main() -> None:
    import atexit

    atexit.register(_end_now)  # registered first, so it runs after every other handler
    code = _run()
    if _seen["early"]:
        # An interrupt that cut an import short can leave CPython set to re-raise SIGINT
        # at exit (the process would die by the signal); nothing is running yet, so end
        # by hand. Later interrupts unwind normally: servers stop, threads are joined.
        atexit._run_exitfuncs()
        _flush(1)
        import os

        os._exit(code if isinstance(code, int) else EXIT_INTERRUPTED)
    if code is None or isinstance(code, int):
        _ending["code"] = code or 0
    sys.exit(code)  # type: ignore[arg-type]  # a message: Python prints it, exit 1


_ending: dict[str, int | None] = {"code": None}


def _end_now() -> None:
    """The last exit handler: end the process with the run's exit code, without the
    interpreter's teardown. By now Python has joined the threads and run every other
    exit handler; the files restoregate writes were closed before (written whole, then
    renamed into place). Freeing a 10,000-table catalog object by object took 60 ms of a
    1.3 s check. A stream that cannot be flushed (a closed pipe) makes a passing run
    fail, as CPython's own teardown would (exit 120)."""
    code = _ending["code"]
    if code is None:
        return  # not a finished run: the interpreter ends as usual
    import os

    os._exit(_flush(code))


def _flush(code: int) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            if code == 0:
                code = 120  # what CPython exits with when flushing stdout fails
    return code
