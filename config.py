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
