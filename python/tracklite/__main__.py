"""``python -m tracklite`` and the ``tracklite`` script that ``pip install
tracklite`` puts on the PATH: the command-line program, the very same as
the Rust ``tracklite`` binary (the native module runs it inside this
process). ``python -m tracklite --help`` lists the commands."""

from __future__ import annotations

import signal
import sys
import threading

from . import _native

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Runs ``tracklite`` with ``argv`` (default: ``sys.argv[1:]``) and
    returns its exit status: 0 on success, 1 on an error, 2 on a usage
    error."""
    args = sys.argv[1:] if argv is None else list(argv)
    # The program writes to file descriptors 1 and 2 itself: what Python
    # buffered goes first.
    sys.stdout.flush()
    sys.stderr.flush()
    if threading.current_thread() is threading.main_thread():
        # Python's SIGINT handler only sets a flag that Python code looks
        # at, and none runs until the program returns: Ctrl-C would do
        # nothing. With the default action it stops the program as it
        # stops the binary; `export --watch` installs its own handlers for
        # SIGINT and SIGTERM, and stops cleanly.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _native.run_cli(["tracklite", *args])


if __name__ == "__main__":
    sys.exit(main())
