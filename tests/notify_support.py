"""Real parts for the notifier's tests: Celery workers in their own processes, a
webhook receiver that checks signatures, an SMTP server on loopback, and a private
Redis that a test may stop and start again."""

import asyncio
import contextlib
import email
import email.policy
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest
from aiosmtpd.controller import Controller

from app import create_app
from app.celery_app import worker_argv
from app.notify.channels import KEY_HEADER
from tests.conftest import app_config

# Fast retries and a short lease, so that the faults play out in seconds.
SETTINGS = {
    "NOTIFY_RETRY_BASE_SECONDS": 0.3,
    "NOTIFY_MAX_ATTEMPTS": 3,
    "NOTIFY_LEASE_SECONDS": 3,
    "NOTIFY_SWEEP_SECONDS": 1,
}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require_redis(url=REDIS_URL):
    """Fail (not skip) with a message when the machine's Redis is not running."""
    host, _, port = url.split("//", 1)[1].split("/", 1)[0].rpartition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=2).close()
    except OSError as exc:
        pytest.fail(f"Redis at {url} is not reachable ({exc}); start it with `redis-server --daemonize yes "
                    "--bind 127.0.0.1 -::1 --port 6379 --save \"\" --appendonly no`")


def wait_for(predicate, timeout=20.0, interval=0.05, message="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        time.sleep(interval)


def readme_code(marker):
    """The Python block that follows ``<!-- marker -->`` in the README, as it is written there."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    _before, found, after = text.partition(f"<!-- {marker} -->")
    assert found, f"the README has no <!-- {marker} --> block"
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def readme_receiver():
    """The README's webhook receiver (``verify`` and ``receive``), run as written there."""
    namespace = {}
    exec(compile(readme_code("webhook-receiver"), "README.md: webhook receiver", "exec"), namespace)  # noqa: S102
    return namespace


class Worker:
    """A worker with beat in it on both queues with a few threads (the one-worker
    deployment; run.py starts one per queue, ``test_run_embedded.py``), in its own
    process group, on the test's database."""

    def __init__(self, env, log_path):
        self.env, self.log_path, self.process = env, log_path, None

    def start(self):
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop)
        self.log_start = self.log.tell()  # started again: read this run's lines only
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "celery", *worker_argv(self.env)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._ready, timeout=60, message=f"the worker to start (log: {self.log_path})")
        return self

    def _ready(self):
        if self.process.poll() is not None:
            raise AssertionError(f"the worker exited: {self.tail()}")
        with open(self.log_path, "rb") as f:
            f.seek(self.log_start)
            return b" ready." in f.read()

    def running(self):
        return self.process is not None and self.process.poll() is None

    def tail(self):
        with open(self.log_path, "rb") as f:
            return f.read()[-3000:].decode(errors="replace")

    def kill(self):
        """SIGKILL, the worker and its beat: no chance to finish or clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


class Receiver:
    """A department's own system, built on the README's receiver code: it checks each
    call's signature and processes each notification key once. It answers as told
    (``ok``; ``fail`` → 500 without processing; ``hold`` → process, then wait for
    ``release`` before answering). ``calls`` lists every call as it arrived,
    ``processed`` every time the receiver's work was done (key, payload)."""

    def __init__(self, secret):
        self.secret = secret
        self.mode = "ok"
        self.calls = []
        self.processed = []
        self.processed_keys = set()
        self.arrived = threading.Event()
        self.release = threading.Event()
        readme = readme_receiver()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get(KEY_HEADER)
                receiver.calls.append({"key": key, "verified": readme["verify"](receiver.secret, self.headers, body),
                                       "at": time.time(), "headers": self.headers, "body": body,
                                       "payload": json.loads(body)})
                mode = receiver.mode
                if mode == "fail":
                    self._answer(500)
                    return
                status = readme["receive"](receiver.secret, self.headers, body, receiver.processed_keys,
                                           lambda payload: receiver.processed.append((key, payload)))
                if mode == "hold":
                    receiver.arrived.set()
                    receiver.release.wait(30)
                self._answer(status)

            def _answer(self, status):
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller is gone (a killed worker)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def keys(self):
        return [call["key"] for call in self.calls]

    def processed_payloads(self):
        return [payload for _key, payload in self.processed]

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class Smtp:
    """An SMTP server on loopback. ``messages`` keeps every message it was sent
    (repeats too); ``processed`` what a mailbox that drops a repeated Message-ID keeps.
    ``refuse`` (an SMTP reply such as ``"550 5.1.1 …"``) refuses every recipient;
    ``hold`` keeps the DATA answer until ``release``. With ``tls`` (an SSLContext) it
    offers STARTTLS, or with ``implicit_tls`` speaks TLS from the start; with ``users``
    ({login: password}) it requires AUTH (over TLS only)."""

    def __init__(self, tls=None, implicit_tls=False, users=None):
        self.messages = []
        self.processed = []
        self.sessions = []
        self.refuse = None
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()
        smtp = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if smtp.refuse:
                    return smtp.refuse
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                data = envelope.content.decode("utf-8")
                message = {"to": list(envelope.rcpt_tos), "data": data,
                           "tls": server.transport.get_extra_info("ssl_object") is not None,
                           "login": session.auth_data.login.decode() if session.authenticated else None}
                smtp.messages.append(message)
                message_id = email.message_from_string(data, policy=email.policy.default)["Message-ID"]
                if message_id not in {m["message_id"] for m in smtp.processed}:
                    smtp.processed.append(dict(message, message_id=message_id))
                if smtp.hold:
                    smtp.arrived.set()
                    await asyncio.get_running_loop().run_in_executor(None, smtp.release.wait, 30)
                return "250 Message accepted"

        def authenticate(server, session, envelope, mechanism, auth_data):
            from aiosmtpd.smtp import AuthResult

            login, password = auth_data.login.decode(), auth_data.password.decode()
            return AuthResult(success=users.get(login) == password, handled=False, auth_data=auth_data)

        options = {}
        if tls is not None and not implicit_tls:
            options.update(tls_context=tls, require_starttls=True)
        if users is not None:  # AUTH over TLS only (aiosmtpd counts only STARTTLS as TLS)
            options.update(authenticator=authenticate, auth_required=True, auth_require_tls=not implicit_tls)
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     ssl_context=tls if implicit_tls else None, **options)
        self.controller.start()

    def close(self):
        self.release.set()
        self.controller.stop()


class PrivateRedis:
    """A Redis of the test's own on a free port, to stop and start again."""

    def __init__(self, workdir):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (Debian package redis-server)")
        self.binary, self.workdir, self.port, self.process = binary, workdir, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(  # noqa: S603
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_for(up, timeout=10, message="the private Redis to start")
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Stack:
    """A Flask app of the test process and the environment of its workers: the test's
    database, one broker, a queue of its own."""

    def __init__(self, db_url, tmp, broker_url, smtp_port=25, **extra):
        self.queue = f"test-{uuid.uuid4().hex[:8]}"
        self.tmp = tmp
        settings = dict(SETTINGS, CELERY_BROKER_URL=broker_url, CELERY_QUEUE=self.queue, MAIL_SERVER="127.0.0.1",
                        MAIL_PORT=smtp_port, CELERY_BROKER_DIR=os.path.join(tmp, "celery"), **extra)
        self.app = create_app(app_config(tmp, db_url, **settings))
        self.env = dict(os.environ, DATABASE_URL=db_url, INSTANCE_DIR=tmp, MATERIALS_DIR=os.path.join(tmp, "m"),
                        SECRET_KEY="test-secret-key-of-at-least-32-bytes!", DEMO_MODE="1", PYTHONPATH=ROOT,
                        **{key: str(value) for key, value in settings.items()})

    def worker(self, name="worker"):
        return Worker(self.env, os.path.join(self.tmp, f"{name}-{uuid.uuid4().hex[:6]}.log")).start()
