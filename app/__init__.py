"""The application factory."""

import os

from flask import Flask
from flask_appbuilder import AppBuilder
from sqlalchemy import inspect

from app.extensions import configure_sqlite, csrf, db, migrate

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


class ConfigurationError(RuntimeError):
    """The configuration is unsafe for the environment it is used in."""


def check_production(config):
    """Production refuses the development secret key and the demo mode."""
    from config import DEFAULT_SECRET_KEY

    if config.get("APP_ENV") != "production":
        return
    if not config.get("SECRET_KEY") or config["SECRET_KEY"] == DEFAULT_SECRET_KEY:
        raise ConfigurationError("APP_ENV=production needs its own SECRET_KEY (the default one is public).")
    if config.get("DEMO_MODE"):
        raise ConfigurationError("APP_ENV=production cannot run in DEMO_MODE.")


def refuse_demo_accounts():
    """In production, a database holding the demo accounts is refused."""
    from app.models import DepartmentUser
    from app.seeding import demo_usernames

    if "ab_user" not in inspect(db.engine).get_table_names():
        return
    found = db.session.query(DepartmentUser.username).filter(DepartmentUser.username.in_(demo_usernames())).all()
    db.session.remove()
    if found:
        names = ", ".join(sorted(u for (u,) in found))
        raise ConfigurationError(f"APP_ENV=production refuses a database with demo accounts: {names}")


def create_app(test_config=None):
    from app import speedups

    speedups.install()  # what FAB and Flask-Babel redo on every call, done once
    app = Flask(__name__, instance_relative_config=False)
    app.config.from_object("config")
    if test_config:
        app.config.update(test_config)
    check_production(app.config)

    from app.security.roles import fab_roles

    app.config["FAB_ROLES"] = fab_roles()
    app.config.setdefault("FAB_INDEX_VIEW", "app.views.index.HomeView")
    os.makedirs(app.config["MATERIALS_DIR"], exist_ok=True)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///") and uri != "sqlite:///:memory:":
        os.makedirs(os.path.dirname(os.path.abspath(uri[len("sqlite:///"):])), exist_ok=True)

    db.init_app(app)
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    csrf.init_app(app)

    from app.celery_app import celery_init_app
    from app.notify import outbox

    celery_init_app(app)
    outbox.install(db.session.session_factory)

    with app.app_context():
        configure_sqlite(db.engine)
        from app import models  # noqa: F401  (the mappers must exist before FAB inspects them)
        from app.views import register_views

        appbuilder = AppBuilder(update_perms=False)
        appbuilder.init_app(app, db.session)
        register_views(appbuilder)
        if app.config.get("APP_ENV") == "production":
            refuse_demo_accounts()

    from app import storage
    from app.cli import register_cli
    from app.security import csrf as csrf_refusal
    from app.views.base import business_date, business_datetime

    speedups.install_template_filters(app)  # FAB's list links, menu and static URLs, built once
    storage.install(app)  # an upload above MAX_CONTENT_LENGTH: our message, not Werkzeug's page
    csrf_refusal.install(app)  # a form without its token: our message, not Flask-WTF's 400

    register_cli(app)
    app.add_template_filter(business_date, "business_date")
    app.add_template_filter(business_datetime, "business_datetime")

    from app.domain.clock import today_cst

    app.context_processor(lambda: {"today": today_cst()})
    return app
