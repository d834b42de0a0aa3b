"""The Celery workers ``run.py`` keeps beside the web server on one machine: each a child
process in a process group of its own, started again when it dies.

A worker that ends while the web server runs (killed, out of memory, a broker error it
cannot recover from) would otherwise leave notifications and report jobs waiting until
someone noticed. Nothing is lost meanwhile (the outbox rows and the report jobs are in
the database, and the sweep takes back what a dead worker had claimed); the supervisor
makes "meanwhile" a second or two. A worker that dies again at once is started again
after a delay that doubles each time (up to ``max_delay``), so that a broken
configuration fills the log slowly rather than the CPU.
"""

import contextlib
import os
import signal
import subprocess
import threading
import time


class Supervised:
    """One child process (``command``, output appended to ``log_path``), watched by a
    daemon thread from ``start()`` to ``stop()``."""

    def __init__(self, name, command, log_path, cwd=None, env=None, first_delay=1.0, max_delay=60.0,
                 steady_after=60.0, say=print):
        self.name, self.command, self.log_path, self.cwd, self.env = name, command, log_path, cwd, env
        self.first_delay, self.max_delay, self.steady_after, self.say = first_delay, max_delay, steady_after, say
        self.process, self.starts, self.started_at = None, 0, 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._watcher = None

    @property
    def pid(self):
        return self.process.pid if self.process is not None else None

    def start(self):
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name=f"supervise-{self.name}", daemon=True)
        self._watcher.start()
        return self

    def _spawn(self):
        os.makedirs(os.path.dirname(os.path.abspath(self.log_path)), exist_ok=True)
        with self._lock:
            if self._stopping.is_set():
                return
            with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
                self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env,  # noqa: S603
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            self.starts += 1
            self.started_at = time.monotonic()
        self.say(f"{self.name}: started (pid {self.process.pid}, log {self.log_path}).")

    def _watch(self):
        delay = self.first_delay
        while not self._stopping.is_set():
            code = self.process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - self.started_at >= self.steady_after:
                delay = self.first_delay  # it had been running well: this is a new fault
            message = f"{self.name}: pid {self.process.pid} ended (exit code {code}); starting it again in {delay:g} s."
            self.say(message)
            with contextlib.suppress(OSError), open(self.log_path, "a", encoding="utf-8") as log:
                log.write(f"[supervisor] {message}\n")
            if self._stopping.wait(delay):
                return
            try:
                self._spawn()
            except OSError as exc:  # cannot start it now (no memory, no descriptors): try again later
                self.say(f"{self.name}: could not be started ({exc}).")
            delay = min(delay * 2, self.max_delay)

    def stop(self, timeout=15.0):
        """SIGTERM to the child's group (a Celery worker finishes what it holds), SIGKILL
        after ``timeout`` seconds; never started again after this."""
        self.terminate()
        self.wait(timeout)

    def terminate(self):
        """The first half of ``stop()``: no more restarts, SIGTERM sent (so that several
        children can be told at once and then waited for together)."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)

    def wait(self, timeout=15.0):
        """The second half of ``stop()``: the child's end, forced after ``timeout`` seconds."""
        process = self.process
        if process is None:
            return
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
