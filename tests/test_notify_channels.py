"""The channels on their own: the SMS gateway over HTTP and the default one that
records messages; e-mail over STARTTLS or TLS with a login, and which refusals are
final; the webhook's signature, checked independently and by the README's receiver."""

import email
import email.policy
import hashlib
import hmac
import http.server
import json
import shutil
import ssl
import subprocess
import threading
import time

import pytest
from werkzeug.datastructures import Headers

from app.extensions import db
from app.models import Department, SmsMessage
from app.models.case import utcnow
from app.models.notify import EMAIL, SMS, TASK_COMPLETED, TASK_READY, WEBHOOK, Notification
from app.notify import channels
from tests.notify_support import Receiver, Smtp, readme_receiver


class Gateway:
    """An SMS provider's HTTP gateway on loopback: keeps what it is sent."""

    def __init__(self):
        self.received, self.status = [], 200
        gateway = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.received.append((dict(self.headers), json.loads(body)))
                self.send_response(gateway.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    running = Gateway()
    yield running
    running.close()


PARAMS = {"case_no": "361125-2026-000999", "item": "户口注销", "item_code": "GA01", "department_code": "GA",
          "window": "殡仪馆联办窗口", "status": "ready", "deadline": "2026-12-09"}


def sms(key="sms-test-key"):
    return Notification(key=key, event=TASK_COMPLETED, channel=SMS, address="13800138000",
                        params=json.dumps(PARAMS, ensure_ascii=False))


def test_the_http_gateway_posts_the_message_with_its_key_and_template(app, ctx, gateway, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_GATEWAY", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", gateway.url)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_KEY", "provider-key")
    monkeypatch.setitem(app.config, "SMS_TEMPLATE_IDS", '{"task_completed": "SMS_0001"}')
    assert channels.travels_outside(SMS)
    channels.prepare(sms()).send()
    (headers, body), = gateway.received
    assert headers["Authorization"] == "Bearer provider-key"
    assert body["request_id"] == "sms-test-key" and body["phone"] == "13800138000"
    assert body["template_id"] == "SMS_0001" and body["params"]["case_no"] == "361125-2026-000999"
    assert body["text"] == ("【身后一件事】您好，案件361125-2026-000999的“户口注销”已办结。"
                            "其余事项仍在办理，全部办结后将短信告知您。")
    gateway.status = 503
    with pytest.raises(channels.DeliveryError, match="503"):
        channels.prepare(sms()).send()


def test_the_default_gateway_records_each_message_once(ctx):
    key = f"sms-once-{time.time_ns()}"
    assert not channels.travels_outside(SMS)  # recorded in the transaction that records the delivery
    channels.prepare(sms(key)).record(db.session)
    channels.prepare(sms(key)).record(db.session)  # delivered again after a worker died: still one message
    db.session.flush()
    assert db.session.query(SmsMessage).filter_by(key=key).count() == 1


def test_only_http_addresses_are_called():
    with pytest.raises(channels.DeliveryError, match="only http"):
        channels.post_json("file:///etc/passwd", b"{}", {}, 1, "Webhook")


# --- webhooks: the signature --------------------------------------------------------

SECRET = "a-department-secret-0123456789"


@pytest.fixture
def receiver():
    running = Receiver(SECRET)
    yield running
    running.close()


def signed_call(receiver):
    """One real webhook call as the notifier makes it; (headers, raw body) as received."""
    department = Department(code="GA", name="公安局", webhook_url=receiver.url, webhook_secret=SECRET)
    notification = Notification(key="task_ready:t42:0123456789ab:webhook:d7", event=TASK_READY, channel=WEBHOOK,
                                department=department, task_id=42, case_id=17, created_at=utcnow(),
                                params=json.dumps(PARAMS, ensure_ascii=False))
    channels.prepare(notification).send()
    call = receiver.calls[-1]
    return call["headers"], call["body"]


def hmac_sha256(secret, timestamp, body):
    """Computed here from the README's description, not with the notifier's code."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def resigned(headers, timestamp, secret=SECRET, body=None):
    """The call's headers with another timestamp, signed again."""
    changed = Headers(list(headers.items()))
    changed["X-Lianban-Timestamp"] = str(timestamp)
    changed["X-Lianban-Signature"] = hmac_sha256(secret, timestamp, body)
    return changed


def test_a_webhook_is_signed_with_hmac_sha256_over_the_timestamp_and_the_body(ctx, receiver):
    headers, body = signed_call(receiver)
    timestamp = headers["X-Lianban-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["X-Lianban-Signature"] == hmac_sha256(SECRET, timestamp, body)
    assert headers["X-Lianban-Key"] == "task_ready:t42:0123456789ab:webhook:d7"
    assert headers["X-Lianban-Event"] == "task_ready"
    payload = json.loads(body)
    assert payload["key"] == headers["X-Lianban-Key"] and payload["case_number"] == "361125-2026-000999"
    assert payload["link"].endswith("/taskview/show/42")


def test_the_readme_receiver_accepts_only_a_fresh_call_signed_with_its_secret(ctx, receiver):
    verify = readme_receiver()["verify"]
    headers, body = signed_call(receiver)
    assert verify(SECRET, headers, body)
    assert not verify(SECRET, headers, body + b" ")  # the body changed
    assert not verify("another-secret-0123456789", headers, body)
    now = int(time.time())
    assert verify(SECRET, resigned(headers, now - 10, body=body), body)
    assert not verify(SECRET, resigned(headers, now - 3600, body=body), body)  # replayed an hour later
    malformed = Headers(list(headers.items()))
    malformed["X-Lianban-Timestamp"] = "yesterday"
    assert verify(SECRET, malformed, body) is False  # refused, not an exception
    unsigned = Headers([(k, v) for k, v in headers.items() if k.lower() != "x-lianban-signature"])
    assert verify(SECRET, unsigned, body) is False
    odd = Headers(list(headers.items()))
    odd["X-Lianban-Signature"] = "sha256=签名"
    assert verify(SECRET, odd, body) is False


def test_the_readme_receiver_processes_each_key_once(ctx, receiver):
    receive = readme_receiver()["receive"]
    headers, body = signed_call(receiver)
    keys, done = set(), []
    assert receive(SECRET, headers, body, keys, done.append) == 200
    assert receive(SECRET, headers, body, keys, done.append) == 200  # the repeat: answered, not processed
    assert done == [json.loads(body)]
    assert receive("another-secret-0123456789", headers, body, set(), done.append) == 401
    assert len(done) == 1


# --- e-mail: TLS, login, refusals --------------------------------------------------

@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made here (no internet needed)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl command is needed to make the test's certificate (Debian package openssl)")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",  # noqa: S603
                    str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    return str(cert), context


USERS = {"lianban": "mail-password-0123"}


def mail(key="task_ready:t7:0123456789ab:email:u3"):
    return Notification(key=key, event=TASK_READY, channel=EMAIL, address="rs@hengfeng.gov.cn", task_id=7,
                        params=json.dumps(PARAMS, ensure_ascii=False))


@pytest.fixture
def mail_config(app, monkeypatch):
    def configure(smtp, **settings):
        values = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_USE_TLS": False, "MAIL_USE_SSL": False,
                  "MAIL_USERNAME": "", "MAIL_PASSWORD": "", "MAIL_CA_FILE": "", "MAIL_TIMEOUT_SECONDS": 5}
        values.update(settings)
        for name, value in values.items():
            monkeypatch.setitem(app.config, name, value)

    return configure


def parsed(message):
    return email.message_from_string(message["data"], policy=email.policy.default)


def test_e_mail_goes_over_starttls_with_a_login(ctx, app, certificate, mail_config):
    cert, context = certificate
    smtp = Smtp(tls=context, users=USERS)
    try:
        mail_config(smtp, MAIL_USE_TLS=True, MAIL_USERNAME="lianban", MAIL_PASSWORD=USERS["lianban"],
                    MAIL_CA_FILE=cert)
        channels.prepare(mail()).send()
        (message,) = smtp.messages
        assert message["tls"] and message["login"] == "lianban" and message["to"] == ["rs@hengfeng.gov.cn"]
        received = parsed(message)
        assert received["Message-ID"] == channels.message_id(mail().key, app.config["MAIL_FROM"])
        assert "户口注销" in received["Subject"] and "/taskview/show/7" in received.get_content()

        app.config["MAIL_PASSWORD"] = "wrong-password"
        with pytest.raises(channels.PermanentDeliveryError, match="535"):  # a bad login is final
            channels.prepare(mail()).send()
        app.config.update(MAIL_PASSWORD=USERS["lianban"], MAIL_CA_FILE="")
        with pytest.raises(channels.DeliveryError, match="CERTIFICATE_VERIFY_FAILED") as failure:
            channels.prepare(mail()).send()  # the certificate is not one the system trusts
        assert not isinstance(failure.value, channels.PermanentDeliveryError)
        app.config.update(MAIL_USE_TLS=False, MAIL_CA_FILE=cert)
        with pytest.raises(channels.DeliveryError, match="AUTH extension not supported"):
            channels.prepare(mail()).send()  # the server offers no login in clear text
        app.config.update(MAIL_USERNAME="")
        with pytest.raises(channels.PermanentDeliveryError, match="530"):  # nor takes mail before STARTTLS
            channels.prepare(mail()).send()
        assert len(smtp.messages) == 1
    finally:
        smtp.close()


# aiosmtpd counts only STARTTLS as TLS when it checks AUTH; this connection is TLS throughout.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_e_mail_goes_over_implicit_tls_with_a_login(ctx, certificate, mail_config):
    cert, context = certificate
    smtp = Smtp(tls=context, implicit_tls=True, users=USERS)
    try:
        mail_config(smtp, MAIL_USE_SSL=True, MAIL_USERNAME="lianban", MAIL_PASSWORD=USERS["lianban"],
                    MAIL_CA_FILE=cert)
        channels.prepare(mail()).send()
        (message,) = smtp.messages
        assert message["tls"] and message["login"] == "lianban"
    finally:
        smtp.close()


def test_an_smtp_refusal_is_final_for_5xx_and_temporary_for_4xx(ctx, mail_config):
    smtp = Smtp()
    try:
        mail_config(smtp)
        smtp.refuse = "550 5.1.1 Mailbox unavailable"
        with pytest.raises(channels.PermanentDeliveryError, match="550"):
            channels.prepare(mail()).send()
        smtp.refuse = "451 4.3.0 Try again later"
        with pytest.raises(channels.DeliveryError, match="451") as failure:
            channels.prepare(mail()).send()
        assert not isinstance(failure.value, channels.PermanentDeliveryError)
    finally:
        smtp.close()
    with pytest.raises(channels.DeliveryError) as failure:  # nobody listens any more: a lost connection
        channels.prepare(mail()).send()
    assert not isinstance(failure.value, channels.PermanentDeliveryError)
