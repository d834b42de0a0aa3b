"""The supervisor of run.py's workers (``app.embedded.Supervised``) on real child
processes: a child that dies is started again, one that keeps dying waits longer each
time, one that had run well gets the short delay again, and ``stop()`` ends the child
for good (SIGKILL when it ignores SIGTERM). run.py itself, with a worker killed under
it, is in ``test_run_embedded.py``."""

import re
import sys
import time

import pytest

from app.embedded import Supervised
from tests.notify_support import wait_for


def _python(code):
    return [sys.executable, "-c", code]


@pytest.fixture
def said():
    return []


def _supervise(tmp_path, said, code, **options):
    return Supervised("test worker", _python(code), str(tmp_path / "logs" / "child.log"), say=said.append,
                      **options).start()


def _delays(said):
    return [float(d) for d in re.findall(r"starting it again in ([\d.]+) s", " ".join(said))]


def test_a_child_that_dies_is_started_again_and_the_death_is_in_its_log(tmp_path, said):
    child = _supervise(tmp_path, said, "import time; print('up', flush=True); time.sleep(60)", first_delay=0.1)
    try:
        first = child.pid
        child.process.kill()
        wait_for(lambda: child.pid != first and child.process.poll() is None, timeout=10, message="the restart")
        assert child.starts == 2
        assert f"test worker: pid {first} ended (exit code -9)" in " ".join(said)
        log = (tmp_path / "logs" / "child.log").read_text()
        assert log.count("up") == 2 and f"[supervisor] test worker: pid {first} ended" in log
    finally:
        child.stop()


def test_a_child_that_keeps_dying_waits_twice_as_long_each_time(tmp_path, said):
    child = _supervise(tmp_path, said, "raise SystemExit(3)", first_delay=0.2, max_delay=0.8)
    try:
        wait_for(lambda: len(_delays(said)) >= 4, timeout=15, message="four restarts")
    finally:
        child.stop()
    assert _delays(said)[:4] == [0.2, 0.4, 0.8, 0.8]  # doubling, up to max_delay
    assert "exit code 3" in said[1]
    assert child.starts <= len(_delays(said)) + 1  # no start without its delay before it


def test_a_child_that_ran_well_before_dying_gets_the_short_delay_again(tmp_path, said):
    child = _supervise(tmp_path, said, "import time; time.sleep(0.4); raise SystemExit(1)", first_delay=0.1,
                       steady_after=0.3)
    try:
        wait_for(lambda: len(_delays(said)) >= 3, timeout=15, message="three restarts")
    finally:
        child.stop()
    assert _delays(said)[:3] == [0.1, 0.1, 0.1]


def test_stop_ends_the_child_for_good(tmp_path, said):
    child = _supervise(tmp_path, said, "import time; time.sleep(60)", first_delay=0.05)
    process = child.process
    child.stop()
    assert process.returncode == -15  # SIGTERM: a Celery worker finishes what it holds
    time.sleep(0.5)
    assert child.starts == 1 and child.process is process
    assert not _delays(said)


def test_stop_kills_a_child_that_ignores_sigterm(tmp_path, said):
    marker = tmp_path / "ignoring"
    child = _supervise(tmp_path, said, "import signal, time, pathlib; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                                       f"pathlib.Path({str(marker)!r}).touch(); time.sleep(60)")
    wait_for(marker.exists, timeout=10, message="the child to ignore SIGTERM")
    started = time.monotonic()
    child.stop(timeout=0.5)
    assert child.process.returncode == -9
    assert time.monotonic() - started < 5


def test_children_told_together_end_together(tmp_path, said):
    """run.py stops its workers by telling them all, then waiting: two warm shutdowns of
    a second each take about a second, not two."""
    code = ("import signal, sys, time, pathlib; "
            "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1.0), sys.exit(0))); "
            "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)")
    children = []
    for name in ("one", "two"):
        marker = tmp_path / name
        children.append(Supervised(name, [sys.executable, "-c", code, str(marker)], str(tmp_path / f"{name}.log"),
                                   say=said.append).start())
        wait_for(marker.exists, timeout=10, message=f"child {name} to start")
    started = time.monotonic()
    for child in children:
        child.terminate()
    for child in children:
        child.wait()
    took = time.monotonic() - started
    assert all(child.process.returncode == 0 for child in children)  # each finished its shutdown
    assert 1.0 <= took < 1.9
    assert not _delays(said)  # and neither was started again


def test_a_child_that_cannot_be_started_again_is_tried_again_later(tmp_path, said):
    program = tmp_path / "worker.py"
    program.write_text("raise SystemExit(1)\n")
    child = Supervised("test worker", [sys.executable, str(program)], str(tmp_path / "child.log"), first_delay=0.1,
                       max_delay=0.2, say=said.append).start()
    try:
        wait_for(lambda: child.starts >= 2, timeout=10, message="a restart")
        child.command = [str(tmp_path / "missing-python")]  # the next start fails (OSError)
        wait_for(lambda: any("could not be started" in line for line in said), timeout=10, message="a failed start")
        child.command = [sys.executable, "-c", "import time; time.sleep(60)"]  # and then it can start again
        wait_for(lambda: child.process.poll() is None, timeout=10, message="the start after the failure")
    finally:
        child.stop()
