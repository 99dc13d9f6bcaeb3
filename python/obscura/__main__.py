"""`python -m obscura …`: the `obscura` command, with its own arguments and output (it runs
the command's own code: `python -m obscura deid IN --out OUT` writes what `obscura deid IN
--out OUT` writes, byte for byte). With `--scheduler local:N` or `--scheduler ADDRESS`, `deid`
runs on a Dask cluster (`obscura.distributed`), with the same result."""

import signal
import sys

from . import _core


def main() -> int:
    """Run the command with this process's arguments; its exit status."""
    # Ctrl-C stops the run at once, as it stops the command (Python would otherwise wait for
    # the core to finish before it looks at the signal).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    args = sys.argv[1:]
    if args[:1] == ["deid"] and "--scheduler" in args:
        from . import distributed
        return distributed.run(args[1:])
    return _core.cli(args)


if __name__ == "__main__":
    sys.exit(main())
