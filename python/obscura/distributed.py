"""`obscura deid … --scheduler local:N|ADDRESS`: one run spread over the workers of a Dask
cluster, giving the same files, byte for byte, as `obscura deid` with the same arguments on
one machine (docs/ARCHIVE-SCALE.md).

The run is cut into shards of consecutive files (`--shard-files`, 500 by default). The core
does the work (`obscura._core.job_*`, `src/cli/shards.rs`); this module only hands it out:

1. the first pass as a map over the shards (each worker reads its files' headers) and a
   reduce in order (the batch's patients and their identifying values), then broadcast;
2. de-identification as a map over the shards not yet done, each written to the output's
   staging folder and counted done only when whole (a shard run twice gives one result);
3. the end, here: the shards' files placed in input order, the package's files and logs.

A job stopped (or a worker lost) is taken up again by running the same command: the shards
done are kept, the first pass is made again (it is not kept on disk: it holds identifying
values). Every process must see the inputs and the output folder at the same paths (a shared
file system), and `--key-file` is required (every shard must use the same key).

Why Dask: it is what our users' Python already runs (pandas, xarray), `LocalCluster` needs
nothing but `pip install`, and the same code joins an existing scheduler on Slurm
(dask-jobqueue) or Kubernetes (dask-kubernetes). Ray or Spark would bring a JVM or a second
runtime for what is here a plain map and reduce.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import List, Optional, Sequence, Tuple

from . import _core

SHARD_FILES = 500
# The exit status of a run that stopped half-way (a shard failed on every try, the cluster was
# lost): the shards done are kept, and the same command takes it up.
STOPPED = 3


def _scan(flags: List[str], fingerprint: str, start: int, end: int) -> str:
    return _core.job_scan(flags, fingerprint, start, end)


def _deid(flags: List[str], fingerprint: str, scans: str, shard: int, start: int, end: int) -> Tuple[int, int]:
    return shard, _core.job_deid(flags, fingerprint, scans, shard, start, end)


class _Progress:
    """One line on standard error per step: files done, files/s and the time left."""

    def __init__(self, what: str, total: int, out=sys.stderr):
        self.what, self.total, self.out = what, total, out
        self.done = 0
        self.started = time.monotonic()

    def add(self, files: int) -> None:
        self.done += files
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else 0
        print(f"{self.what}: {self.done:,}/{self.total:,} files, {rate:,.0f} files/s, "
              f"about {left:,.0f} s left", file=self.out, flush=True)


def _split(argv: Sequence[str]) -> Tuple[List[str], str, int]:
    """The arguments of `obscura deid` without `--scheduler` and `--shard-files`, and those."""
    flags, scheduler, shard_files = [], None, SHARD_FILES
    it = iter(argv)
    for a in it:
        if a == "--scheduler":
            scheduler = next(it, None)
            if not scheduler:
                raise ValueError("--scheduler needs a value: local:N or a scheduler's address")
        elif a == "--shard-files":
            value = next(it, "")
            if not value.isdigit() or int(value) < 1:
                raise ValueError(f"--shard-files: {value!r} is not a number of files")
            shard_files = int(value)
        else:
            flags.append(a)
    if scheduler is None:
        raise ValueError("--scheduler is required here")
    return flags, scheduler, shard_files


def _client(scheduler: str):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:
        raise ValueError("--scheduler needs Dask: pip install 'dask[distributed]'") from e
    if scheduler.startswith("local:"):
        n = scheduler[len("local:"):]
        if not n.isdigit() or int(n) < 1:
            raise ValueError(f"--scheduler {scheduler}: local:N needs a number of workers")
        cluster = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        return Client(cluster), cluster
    return Client(scheduler), None


def run(argv: Sequence[str], out=sys.stderr) -> int:
    """Run `obscura deid` with `argv` (its arguments after `deid`, with `--scheduler`) on a Dask
    cluster. The command's exit status: 0 when every file was de-identified, 1 when any was
    left out, 2 when the arguments were refused, 3 when the run stopped half-way (each said on
    `out`)."""
    try:
        flags, scheduler, shard_files = _split(argv)
        files, fingerprint = _core.job_plan(flags)
    except ValueError as e:
        print(f"obscura: {e}", file=out)
        return 2
    # Each worker process works on one file at a time unless told otherwise: the cluster's
    # workers are the parallelism.
    task_flags = flags if "--jobs" in flags else [*flags, "--jobs", "1"]
    shards = [(n, start, min(start + shard_files, files))
              for n, start in enumerate(range(0, files, shard_files))]
    try:
        client, cluster = _client(scheduler)
    except (ValueError, OSError) as e:
        print(f"obscura: {e}", file=out)
        return 2
    try:
        from dask.distributed import as_completed

        progress = _Progress("first pass", files, out)
        futures = client.map(_scan, [task_flags] * len(shards), [fingerprint] * len(shards),
                             [s for _, s, _ in shards], [e for _, _, e in shards], pure=False, retries=2)
        ends = {f.key: e - s for f, (_, s, e) in zip(futures, shards)}
        for f in as_completed(futures):
            progress.add(ends[f.key])
        scans = _core.job_gather(client.gather(futures))
        del futures
        done = set(_core.job_done(flags))
        todo = [(n, s, e) for n, s, e in shards if (s, e) not in done]
        if len(todo) < len(shards):
            print(f"taken up again: {len(shards) - len(todo)} of {len(shards)} shards were done",
                  file=out, flush=True)
        [shared] = client.scatter([scans], broadcast=True)
        progress = _Progress("de-identified", sum(e - s for _, s, e in todo), out)
        futures = client.map(_deid, [task_flags] * len(todo), [fingerprint] * len(todo), [shared] * len(todo),
                             *zip(*todo), pure=False, retries=2) if todo else []
        sizes = {n: e - s for n, s, e in todo}
        for f in as_completed(futures):
            shard, _ = f.result()
            progress.add(sizes[shard])
    except Exception as e:  # a shard that failed on every try, a cluster lost
        print(f"obscura: the run stopped: {e}. The shards done are kept: run the same command "
              "again to take it up.", file=out)
        return STOPPED
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    try:
        return _core.job_finish(flags, fingerprint, scans, shard_files)
    except ValueError as e:
        print(f"obscura: {e}", file=out)
        return 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    return run(sys.argv[2:] if argv is None else argv)
