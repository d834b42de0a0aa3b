"""Configuration from environment variables, with safe embedded defaults.

The defaults run the demo: SQLite under ``instance/``, demo accounts, a development
secret key. ``APP_ENV=production`` refuses to start with the default secret key or in
demo mode (see ``app.check_production``).
"""

import os

from flask_appbuilder.const import AUTH_DB

BASE_DIR = os.path.abspath(os.path.dirname(__file__))
INSTANCE_DIR = os.environ.get("INSTANCE_DIR", os.path.join(BASE_DIR, "instance"))

DEFAULT_SECRET_KEY = "dev-only-not-secret-change-me-in-production"  # noqa: S105 (refused in production)


def _bool(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


APP_ENV = os.environ.get("APP_ENV", "development")
SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
DEMO_MODE = _bool("DEMO_MODE", APP_ENV != "production")
DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "hengfeng-demo")

SQLALCHEMY_DATABASE_URI = os.environ.get(
    "DATABASE_URL", "sqlite:///" + os.path.join(INSTANCE_DIR, "app.sqlite")
)
SQLALCHEMY_TRACK_MODIFICATIONS = False

# Uploaded materials live outside any served folder.
MATERIALS_DIR = os.environ.get("MATERIALS_DIR", os.path.join(INSTANCE_DIR, "materials"))
MATERIAL_MAX_BYTES = int(os.environ.get("MAX_UPLOAD_MB", "10")) * 1024 * 1024
# The request may be a little larger than the file, so that an oversize file gets our
# clear message rather than a bare 413.
MAX_CONTENT_LENGTH = MATERIAL_MAX_BYTES + 2 * 1024 * 1024

# Business dates (deadlines, "today") are China Standard Time whatever the server's zone.
BUSINESS_TIMEZONE = "Asia/Shanghai"
# Timestamps are stored in UTC and shown in China Standard Time.
BABEL_DEFAULT_TIMEZONE = BUSINESS_TIMEZONE

APP_NAME = "身后一件事 联办"
APP_THEME = ""
AUTH_TYPE = AUTH_DB
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLE_PUBLIC = "Public"
FAB_SECURITY_MANAGER_CLASS = "app.security.manager.CaseSecurityManager"
# The schema is made by Alembic, never by FAB's create_all; permissions are the
# role definitions in app/security/roles.py, not rows synced at every start.
FAB_CREATE_DB = False
FAB_UPDATE_PERMS = False
FAB_API_SWAGGER_UI = True
FAB_ADD_SECURITY_API = False

BABEL_DEFAULT_LOCALE = "zh"
BABEL_DEFAULT_FOLDER = "translations"
BABEL_TRANSLATION_DIRECTORIES = os.path.join(BASE_DIR, "translations")
LANGUAGES = {
    "zh": {"flag": "cn", "name": "简体中文"},
    "en": {"flag": "gb", "name": "English"},
}

WTF_CSRF_ENABLED = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# The embedded Chinese font of the PDFs (Debian package fonts-wqy-microhei).
REPORT_FONT_PATH = os.environ.get("REPORT_FONT_PATH", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")

# --- Notifications (Celery) -------------------------------------------------------
# With no CELERY_BROKER_URL the worker and beat run beside the web server on a broker
# that needs no server: kombu's filesystem transport under instance/celery (polled
# every CELERY_POLL_SECONDS). Set CELERY_BROKER_URL=redis://… or amqp://… to move to a
# real broker; nothing else changes.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_BROKER_DIR = os.environ.get("CELERY_BROKER_DIR", os.path.join(INSTANCE_DIR, "celery"))
CELERY_POLL_SECONDS = float(os.environ.get("CELERY_POLL_SECONDS", "0.1"))
CELERY_QUEUE = os.environ.get("CELERY_QUEUE", "lianban")
# Report generation has a queue of its own (empty: "<CELERY_QUEUE>-reports").
CELERY_REPORT_QUEUE = os.environ.get("CELERY_REPORT_QUEUE", "")

# Delivery: attempts before a notification lands as failed, the first retry's delay
# (doubled at each attempt), how long a claimed delivery may run before the sweep
# takes it back from a worker that died, and how often the sweep runs.
NOTIFY_MAX_ATTEMPTS = int(os.environ.get("NOTIFY_MAX_ATTEMPTS", "5"))
NOTIFY_RETRY_BASE_SECONDS = float(os.environ.get("NOTIFY_RETRY_BASE_SECONDS", "30"))
NOTIFY_LEASE_SECONDS = float(os.environ.get("NOTIFY_LEASE_SECONDS", "300"))
NOTIFY_SWEEP_SECONDS = float(os.environ.get("NOTIFY_SWEEP_SECONDS", "15"))
# Daily schedule (China Standard Time, HH:MM): the due-soon and overdue scans, and
# the supervisors' digest.
NOTIFY_SCAN_TIME = os.environ.get("NOTIFY_SCAN_TIME", "08:30")
NOTIFY_DIGEST_TIME = os.environ.get("NOTIFY_DIGEST_TIME", "08:00")
# A link in e-mails and webhooks back to the task (the back office's public address).
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")

# E-mail over SMTP.
MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)  # STARTTLS
MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)  # SMTPS
MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
MAIL_FROM = os.environ.get("MAIL_FROM", "lianban@localhost")
# CA certificates to trust for the SMTP server's TLS (an intranet CA), besides the system's.
MAIL_CA_FILE = os.environ.get("MAIL_CA_FILE", "")
MAIL_TIMEOUT_SECONDS = float(os.environ.get("MAIL_TIMEOUT_SECONDS", "10"))

# SMS: "database" records each message in the sms_message table (an admin screen
# lists them); "http" posts it to an SMS provider's gateway.
SMS_GATEWAY = os.environ.get("SMS_GATEWAY", "database")
SMS_GATEWAY_URL = os.environ.get("SMS_GATEWAY_URL", "")
SMS_GATEWAY_KEY = os.environ.get("SMS_GATEWAY_KEY", "")
SMS_SIGN_NAME = os.environ.get("SMS_SIGN_NAME", "身后一件事")
# Template ids at the provider, per event, as JSON: {"task_completed": "SMS_123", …}
SMS_TEMPLATE_IDS = os.environ.get("SMS_TEMPLATE_IDS", "{}")

WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))

# --- Reports ----------------------------------------------------------------------------
# A statistics report of a longer period, or an overdue list PDF of more rows, is
# generated by a Celery worker, with its progress on the screen.
REPORT_SYNC_MAX_DAYS = int(os.environ.get("REPORT_SYNC_MAX_DAYS", "31"))
REPORT_SYNC_MAX_ROWS = int(os.environ.get("REPORT_SYNC_MAX_ROWS", "300"))
