"""A run spread over a Dask cluster (`python -m obscura deid … --scheduler local:4`) gives what
one `obscura deid` gives, byte for byte, even when a worker is killed in the middle or the whole
job is stopped and started again.

Run by `make test-python` with the test venv's Python (which has Dask and pydicom), the wheel
unpacked into a scratch folder on PYTHONPATH (the cluster's worker processes import it too):
    .venv/bin/python tests/python/check_distributed.py --wheel-dir target/wheels --cli target/release/obscura

Inputs: the fake sample study, 120 fake ultrasound frames with a fake name burned in (text
detection makes them slow enough to stop a job half-way), pydicom's test files and a file that
is not DICOM. Checks:
- on a local cluster of 4 worker processes, in shards of 9 files, the folder, the ZIP, the
  change log, the exit status and the lines printed are the CLI's; `obscura.deid(...,
  scheduler=ADDRESS)` joining a cluster already running gives the same folder;
- one worker process killed with SIGKILL while shards are left: the same result;
- the whole job killed half-way, then the same command again: it says which shards it kept,
  de-identifies only the others, and the result is the same; nothing staged meanwhile holds a
  fake identifier;
- another run's arguments into that half-done folder, or no --key-file, are refused.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_package import files_under, fixture, newest_wheel, run, same_tree, unpacked  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def shards_done(out):
    stage = os.path.join(out, ".obscura-shards")
    try:
        return sorted(n for n in os.listdir(stage) if n.startswith("files-"))
    except FileNotFoundError:
        return []


def wait_for(proc, out, shards, what):
    """Wait until `shards` shards of the run writing `out` are done (the run still going)."""
    deadline = time.monotonic() + 300
    while len(shards_done(out)) < shards:
        assert proc.poll() is None, f"{what}: the run ended before {shards} shards were done"
        assert time.monotonic() < deadline, f"{what}: no progress"
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel-dir", default=os.path.join(ROOT, "target", "wheels"))
    ap.add_argument("--cli", default=os.path.join(ROOT, "target", "release", "obscura"))
    a = ap.parse_args()
    wheel = newest_wheel(a.wheel_dir)
    work = tempfile.mkdtemp(prefix="obscura-distributed-")
    try:
        site = unpacked(wheel, os.path.join(work, "site"))
        env = dict(os.environ, PYTHONPATH=site)
        inputs, canaries, key = fixture(a.cli, work, ultrasounds=120)
        files = len(os.listdir(inputs))

        def out(name):
            return os.path.join(work, name)

        def deid(name, *extra, popen=None):
            cmd = [sys.executable, "-m", "obscura", "deid", inputs, "--out", out(name), "--key-file", key, *extra]
            cmd += ["--scheduler", "local:4"]
            if popen is not None:
                return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, **popen)
            return subprocess.run(cmd, env=env, capture_output=True, text=True)

        # One run on one machine, the reference.
        one = run([a.cli, "deid", inputs, "--out", out("one"), "--key-file", key,
                   "--zip", out("one.zip"), "--log", out("one.json")])
        assert one.returncode == 1, one.stderr  # README.txt and a few of pydicom's files are left out
        reference = files_under(out("one"))
        dicom = [r for r in reference if r.startswith("DICOM") and os.path.basename(r) != "DICOMDIR"]
        assert len(dicom) >= 150, f"only {len(dicom)} files de-identified"

        # The same on a cluster of 4 worker processes.
        p = deid("four", "--shard-files", "9", "--zip", out("four.zip"), "--log", out("four.json"))
        assert p.returncode == one.returncode, p.stderr
        assert p.stdout == one.stdout, "the lines printed differ"
        same_tree(out("one"), out("four"), "4 workers")
        for x, y in (("one.zip", "four.zip"), ("one.json", "four.json")):
            with open(out(x), "rb") as f, open(out(y), "rb") as g:
                assert f.read() == g.read(), f"{y} differs from {x}"
        assert re.search(r"de-identified: [\d,]+/[\d,]+ files, [\d,]+ files/s, about [\d,]+ s left", p.stderr), p.stderr

        # The same through the API, joining a cluster that is already running (by its address).
        from dask.distributed import LocalCluster
        # Every process of a cluster has the package: the scheduler (here) and its workers.
        sys.path.insert(0, site)
        os.environ["PYTHONPATH"] = site
        with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
            p = subprocess.run([sys.executable, "-c", "import sys, obscura; sys.exit(obscura.deid([sys.argv[1]], "
                                "sys.argv[2], key_file=sys.argv[3], scheduler=sys.argv[4], shard_files=50))",
                                inputs, out("api"), key, cluster.scheduler_address],
                               env=env, capture_output=True, text=True)
        assert p.returncode == one.returncode, p.stderr
        same_tree(out("one"), out("api"), "obscura.deid(scheduler=ADDRESS)")

        # A worker killed in the middle: its shards are done again elsewhere.
        proc = deid("killed-worker", "--shard-files", "4", popen={})
        wait_for(proc, out("killed-worker"), 2, "killed worker")
        workers = [c for c in psutil.Process(proc.pid).children(recursive=True)
                   if "resource_tracker" not in " ".join(c.cmdline()) and "forkserver" not in " ".join(c.cmdline())]
        assert workers, "no worker process"
        done_at_kill = len(shards_done(out("killed-worker")))
        workers[0].send_signal(signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=600)
        assert done_at_kill < -(-files // 4), "the run was over before the worker was killed"
        assert proc.returncode == one.returncode, stderr
        assert stdout == one.stdout
        same_tree(out("one"), out("killed-worker"), "a worker killed")

        # The whole job killed half-way, then the same command again.
        proc = deid("stopped", "--shard-files", "4", popen={"start_new_session": True})
        wait_for(proc, out("stopped"), 3, "stopped job")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        kept = shards_done(out("stopped"))
        assert 3 <= len(kept) < -(-files // 4), kept
        for rel, path in files_under(out("stopped")).items():
            data = open(path, "rb").read()
            for c in canaries:
                assert c not in data, f"{c!r} staged in {rel}"
        other = deid("stopped", "--shard-files", "4", "--option", "retain-uids")
        assert other.returncode == 2 and "other arguments" in other.stderr, other.stderr
        again = deid("stopped", "--shard-files", "4")
        assert again.returncode == one.returncode, again.stderr
        said = re.search(r"taken up again: (\d+) of (\d+) shards were done", again.stderr)
        assert said and int(said.group(1)) >= len(kept), again.stderr
        last = re.findall(r"de-identified: [\d,]+/([\d,]+) files", again.stderr)[-1]
        assert int(last.replace(",", "")) < files, f"{last} files de-identified again of {files}"
        same_tree(out("one"), out("stopped"), "stopped and taken up again")

        no_key = subprocess.run([sys.executable, "-m", "obscura", "deid", inputs, "--out", out("no-key"),
                                 "--scheduler", "local:2"], env=env, capture_output=True, text=True)
        assert no_key.returncode == 2 and "--key-file" in no_key.stderr, no_key.stderr
        print(f"distributed: {len(dicom)} files on 4 worker processes, byte for byte as the CLI's; "
              f"a worker killed and a job stopped ({len(kept)} of {-(-files // 4)} shards kept) change nothing")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
