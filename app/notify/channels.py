"""The channels a notification travels on. Each ``send`` either succeeds or raises
``DeliveryError`` (retried with backoff). Every outgoing message carries the
notification's key, so that a receiver can drop a repeat (a worker that died after
sending and before recording it sends again when its delivery is taken back)."""

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.utils import formatdate

from flask import current_app

from app.models.notify import EMAIL, IN_APP, SMS, WEBHOOK, SmsMessage
from app.notify import messages

SIGNATURE_HEADER = "X-Lianban-Signature"
TIMESTAMP_HEADER = "X-Lianban-Timestamp"
KEY_HEADER = "X-Lianban-Key"
EVENT_HEADER = "X-Lianban-Event"


class DeliveryError(Exception):
    """The channel did not take the message; worth trying again later."""


def task_link(notification):
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    if notification.task_id:
        return f"{base}/taskview/show/{notification.task_id}"
    if notification.case_id:
        return f"{base}/caseview/show/{notification.case_id}"
    return base + "/"


# --- in-app -------------------------------------------------------------------------

def send_in_app(session, notification):
    """Nothing leaves the database: once sent, the row is in the user's list and count."""


# --- e-mail -------------------------------------------------------------------------

def send_email(session, notification):
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        raise DeliveryError("MAIL_SERVER is not configured")
    subject, body = messages.email(notification, task_link(notification))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = notification.address
    message["Date"] = formatdate(localtime=False)
    host = config["MAIL_FROM"].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{notification.key.replace(':', '.')}@{host}>"
    message.set_content(body)
    timeout = config["MAIL_TIMEOUT_SECONDS"]
    try:
        if config.get("MAIL_USE_SSL"):
            smtp = smtplib.SMTP_SSL(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout,
                                    context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=timeout)
        with smtp:
            if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
                smtp.starttls(context=ssl.create_default_context())
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"SMTP: {exc}") from exc


# --- SMS ----------------------------------------------------------------------------

class DatabaseSmsGateway:
    """Records the message (no SMS provider configured): the admin's SMS screen lists it."""

    def send(self, session, *, key, phone, text, template_id, params):
        if session.query(SmsMessage.id).filter_by(key=key).first() is None:
            session.add(SmsMessage(key=key, phone=phone, text=text, template=template_id))


class HttpSmsGateway:
    """Posts the message to an SMS provider's HTTP gateway as JSON (``SMS_GATEWAY_URL``,
    the key as a bearer token, the provider's template id per event), with the
    notification's key as the request id for the provider to deduplicate."""

    def __init__(self, url, api_key, timeout):
        self.url, self.api_key, self.timeout = url, api_key, timeout

    def send(self, session, *, key, phone, text, template_id, params):
        body = json.dumps({"request_id": key, "phone": phone, "template_id": template_id, "params": params,
                           "text": text}, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.api_key}"}
        post_json(self.url, body, headers, self.timeout, "SMS gateway")


def sms_gateway():
    config = current_app.config
    if config.get("SMS_GATEWAY") == "http":
        if not config.get("SMS_GATEWAY_URL"):
            raise DeliveryError("SMS_GATEWAY=http needs SMS_GATEWAY_URL")
        return HttpSmsGateway(config["SMS_GATEWAY_URL"], config.get("SMS_GATEWAY_KEY", ""),
                              config["WEBHOOK_TIMEOUT_SECONDS"])
    return DatabaseSmsGateway()


def sms_template_id(event):
    try:
        templates = json.loads(current_app.config.get("SMS_TEMPLATE_IDS") or "{}")
    except ValueError:
        templates = {}
    return templates.get(event)


def send_sms(session, notification):
    sms_gateway().send(session, key=notification.key, phone=notification.address,
                       text=messages.sms_text(notification), template_id=sms_template_id(notification.event),
                       params=messages.params_of(notification))


# --- webhooks -----------------------------------------------------------------------

def sign(secret, timestamp, body):
    """HMAC-SHA256 over ``<timestamp>.<body>`` with the department's secret, hex."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def verify(secret, timestamp, body, signature, tolerance=300, now=None):
    """What a receiver does (see the README): the signature matches and the timestamp
    is recent (a replayed old call is refused)."""
    now = time.time() if now is None else now
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except (TypeError, ValueError):
        return False
    expected = "sha256=" + sign(secret, timestamp, body)
    return fresh and hmac.compare_digest(expected, signature or "")


def post_json(url, body, headers, timeout, what):
    if not url.lower().startswith(("http://", "https://")):
        raise DeliveryError(f"{what}: only http(s) addresses are called, not {url!r}")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (checked above)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"{what} answered {exc.code}") from exc
    except (OSError, ValueError) as exc:
        raise DeliveryError(f"{what}: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"{what} answered {status}")


def send_webhook(session, notification):
    department = notification.department
    secret = (department.webhook_secret if department is not None else None) or ""
    if not secret:
        raise DeliveryError("the department has no webhook secret")
    body = json.dumps(messages.webhook_payload(notification, task_link(notification)),
                      ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        EVENT_HEADER: notification.event,
        KEY_HEADER: notification.key,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + sign(secret, timestamp, body),
        "User-Agent": "lianban-notifier/1",
    }
    url = (department.webhook_url if department is not None else None) or notification.address
    post_json(url, body, headers, current_app.config["WEBHOOK_TIMEOUT_SECONDS"], "Webhook")


SENDERS = {IN_APP: send_in_app, EMAIL: send_email, SMS: send_sms, WEBHOOK: send_webhook}
