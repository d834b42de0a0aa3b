"""The channels a notification travels on.

Delivering is in two steps, so that no database transaction is open while a message
travels (on SQLite every transaction holds the database's one write lock):
``prepare(notification)`` copies what the channel needs from the outbox row into a
plain ``Outgoing`` message; its ``send()`` then talks to the outside world with no
database at hand, and its ``record(session)`` writes what stays in the database (the
recorded SMS) in the transaction that records the delivery. ``send`` either succeeds
or raises ``DeliveryError`` (retried with backoff) or ``PermanentDeliveryError``
(failed at once: trying again later cannot help).

Every outgoing message carries the notification's key, so that a receiver can drop a
repeat (a worker that died after sending and before recording it sends again when its
delivery is taken back)."""

import hashlib
import hmac
import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
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


class PermanentDeliveryError(DeliveryError):
    """The channel refused the message for good (an SMTP 5xx): trying again later
    cannot help, so the row fails at once for an admin to look at and retry."""


def task_link(notification):
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    if notification.task_id:
        return f"{base}/taskview/show/{notification.task_id}"
    if notification.case_id:
        return f"{base}/caseview/show/{notification.case_id}"
    return base + "/"


def travels_outside(channel):
    """Whether a channel's send leaves this machine (and may be slow or hang): e-mail,
    webhooks and SMS through a provider's gateway. In-app rows and recorded SMS only
    write to the database."""
    if channel == SMS:
        return current_app.config.get("SMS_GATEWAY") == "http"
    return channel in (EMAIL, WEBHOOK)


class Outgoing:
    """A message ready to go, made of plain values (no ORM object, no open transaction)."""

    def send(self):
        """Hand the message to the outside world (nothing for in-app and recorded SMS)."""

    def record(self, session):
        """What the delivery leaves in the database, in the transaction recording it."""


# --- in-app -------------------------------------------------------------------------

class InApp(Outgoing):
    """Nothing leaves the database: once sent, the row is in the user's list and count."""


# --- e-mail -------------------------------------------------------------------------

def smtp_code(exc):
    """The SMTP reply code of a refusal, or None (a connection error, a timeout)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return min(codes) if codes else None
    return getattr(exc, "smtp_code", None)


@dataclass
class Email(Outgoing):
    message: EmailMessage
    server: str
    port: int
    use_ssl: bool
    use_tls: bool
    username: str
    password: str = field(repr=False)
    timeout: float
    ca_file: str = ""

    def _context(self):
        context = ssl.create_default_context()
        if self.ca_file:  # an intranet CA, trusted besides the system's
            context.load_verify_locations(cafile=self.ca_file)
        return context

    def send(self):
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.server, self.port, timeout=self.timeout, context=self._context())
            else:
                smtp = smtplib.SMTP(self.server, self.port, timeout=self.timeout)
            with smtp:
                if self.use_tls and not self.use_ssl:
                    smtp.starttls(context=self._context())
                if self.username:
                    smtp.login(self.username, self.password)
                smtp.send_message(self.message)
        except (OSError, smtplib.SMTPException) as exc:
            code = smtp_code(exc)
            # 5xx is the server's final answer (no such mailbox, refused, bad login);
            # 4xx and lost connections are temporary: retried with backoff.
            error = PermanentDeliveryError if code is not None and 500 <= code < 600 else DeliveryError
            raise error(f"SMTP: {exc}") from exc


def prepare_email(notification):
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        raise DeliveryError("MAIL_SERVER is not configured")
    subject, body = messages.email(notification, task_link(notification))
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config["MAIL_FROM"]
    message["To"] = notification.address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id(notification.key, config["MAIL_FROM"])
    message.set_content(body)
    return Email(message=message, server=config["MAIL_SERVER"], port=config["MAIL_PORT"],
                 use_ssl=bool(config.get("MAIL_USE_SSL")), use_tls=bool(config.get("MAIL_USE_TLS")),
                 username=config.get("MAIL_USERNAME") or "", password=config.get("MAIL_PASSWORD") or "",
                 timeout=config["MAIL_TIMEOUT_SECONDS"], ca_file=config.get("MAIL_CA_FILE") or "")


def message_id(key, mail_from):
    """The e-mail's Message-ID: the notification's key, the same on every attempt."""
    host = mail_from.rpartition("@")[2] or "localhost"
    return f"<{key.replace(':', '.')}@{host}>"


# --- SMS ----------------------------------------------------------------------------

@dataclass
class RecordedSms(Outgoing):
    """The default gateway (no SMS provider configured): the message is recorded in the
    database, and the admin's SMS screen lists it. Recorded once per key."""

    key: str
    phone: str
    text: str
    template_id: str | None

    def record(self, session):
        if session.query(SmsMessage.id).filter_by(key=self.key).first() is None:
            session.add(SmsMessage(key=self.key, phone=self.phone, text=self.text, template=self.template_id))


@dataclass
class HttpSms(Outgoing):
    """Posts the message to an SMS provider's HTTP gateway as JSON (``SMS_GATEWAY_URL``,
    the key as a bearer token, the provider's template id per event), with the
    notification's key as the request id for the provider to deduplicate."""

    url: str
    api_key: str = field(repr=False)
    timeout: float
    body: bytes

    def send(self):
        headers = {"Content-Type": "application/json; charset=utf-8", "Authorization": f"Bearer {self.api_key}"}
        post_json(self.url, self.body, headers, self.timeout, "SMS gateway")


def sms_template_id(event):
    try:
        templates = json.loads(current_app.config.get("SMS_TEMPLATE_IDS") or "{}")
    except ValueError:
        templates = {}
    return templates.get(event)


def prepare_sms(notification):
    config = current_app.config
    text = messages.sms_text(notification)
    template_id = sms_template_id(notification.event)
    if config.get("SMS_GATEWAY") != "http":
        return RecordedSms(key=notification.key, phone=notification.address, text=text, template_id=template_id)
    if not config.get("SMS_GATEWAY_URL"):
        raise DeliveryError("SMS_GATEWAY=http needs SMS_GATEWAY_URL")
    body = json.dumps({"request_id": notification.key, "phone": notification.address, "template_id": template_id,
                       "params": messages.params_of(notification), "text": text}, ensure_ascii=False).encode()
    return HttpSms(url=config["SMS_GATEWAY_URL"], api_key=config.get("SMS_GATEWAY_KEY", ""),
                   timeout=config["WEBHOOK_TIMEOUT_SECONDS"], body=body)


# --- webhooks -----------------------------------------------------------------------

def sign(secret, timestamp, body):
    """HMAC-SHA256 over ``<timestamp>.<body>`` with the department's secret, hex."""
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


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


@dataclass
class Webhook(Outgoing):
    url: str
    secret: str = field(repr=False)
    event: str
    key: str
    body: bytes
    timeout: float

    def headers(self, timestamp):
        return {
            "Content-Type": "application/json; charset=utf-8",
            EVENT_HEADER: self.event,
            KEY_HEADER: self.key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: "sha256=" + sign(self.secret, timestamp, self.body),
            "User-Agent": "lianban-notifier/1",
        }

    def send(self):
        # Signed as it leaves: the receiver refuses an old timestamp.
        post_json(self.url, self.body, self.headers(str(int(time.time()))), self.timeout, "Webhook")


def prepare_webhook(notification):
    department = notification.department
    secret = (department.webhook_secret if department is not None else None) or ""
    if not secret:
        raise DeliveryError("the department has no webhook secret")
    body = json.dumps(messages.webhook_payload(notification, task_link(notification)),
                      ensure_ascii=False, separators=(",", ":")).encode()
    url = (department.webhook_url if department is not None else None) or notification.address
    return Webhook(url=url, secret=secret, event=notification.event, key=notification.key, body=body,
                   timeout=current_app.config["WEBHOOK_TIMEOUT_SECONDS"])


PREPARERS = {IN_APP: lambda _notification: InApp(), EMAIL: prepare_email, SMS: prepare_sms,
             WEBHOOK: prepare_webhook}


def prepare(notification):
    """The notification as a message ready to go on its channel."""
    return PREPARERS[notification.channel](notification)
