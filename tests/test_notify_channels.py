"""The channels on their own: the SMS gateway over HTTP and the default one that
records messages, and the webhook signature a receiver checks."""

import http.server
import json
import threading
import time

import pytest

from app.extensions import db
from app.models import SmsMessage
from app.models.notify import SMS, TASK_COMPLETED, Notification
from app.notify import channels


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


def sms(key="sms-test-key"):
    params = {"case_no": "361125-2026-000999", "item": "户口注销", "window": "殡仪馆联办窗口"}
    return Notification(key=key, event=TASK_COMPLETED, channel=SMS, address="13800138000",
                        params=json.dumps(params, ensure_ascii=False))


def test_the_http_gateway_posts_the_message_with_its_key_and_template(app, ctx, gateway, monkeypatch):
    monkeypatch.setitem(app.config, "SMS_GATEWAY", "http")
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", gateway.url)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_KEY", "provider-key")
    monkeypatch.setitem(app.config, "SMS_TEMPLATE_IDS", '{"task_completed": "SMS_0001"}')
    channels.send_sms(db.session, sms())
    (headers, body), = gateway.received
    assert headers["Authorization"] == "Bearer provider-key"
    assert body["request_id"] == "sms-test-key" and body["phone"] == "13800138000"
    assert body["template_id"] == "SMS_0001" and body["params"]["case_no"] == "361125-2026-000999"
    assert body["text"] == ("【身后一件事】您好，案件361125-2026-000999的“户口注销”已办结。"
                            "其余事项仍在办理，全部办结后将短信告知您。")
    gateway.status = 503
    with pytest.raises(channels.DeliveryError, match="503"):
        channels.send_sms(db.session, sms())


def test_the_default_gateway_records_each_message_once(ctx):
    key = f"sms-once-{time.time_ns()}"
    channels.send_sms(db.session, sms(key))
    channels.send_sms(db.session, sms(key))  # delivered again after a worker died: still one message
    db.session.flush()
    assert db.session.query(SmsMessage).filter_by(key=key).count() == 1


def test_a_receiver_accepts_only_a_fresh_call_signed_with_its_secret():
    body, secret, now = b'{"event":"task_ready"}', "a-department-secret-0123456789", 1_800_000_000
    signature = "sha256=" + channels.sign(secret, now, body)
    assert channels.verify(secret, str(now), body, signature, now=now + 10)
    assert not channels.verify(secret, str(now), body + b" ", signature, now=now)  # the body changed
    assert not channels.verify("another-secret-0123456789", str(now), body, signature, now=now)
    assert not channels.verify(secret, str(now), body, signature, now=now + 3600)  # replayed an hour later
    assert not channels.verify(secret, "yesterday", body, signature, now=now)


def test_only_http_addresses_are_called():
    with pytest.raises(channels.DeliveryError, match="only http"):
        channels.post_json("file:///etc/passwd", b"{}", {}, 1, "Webhook")
