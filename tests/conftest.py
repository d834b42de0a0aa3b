"""Fixtures: one migrated and seeded database per test session, SQLite by default or
PostgreSQL when ``TEST_DATABASE_URL`` names one (as ``.ci/run`` does)."""

import os

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from app.seeding import seed_all

DEMO_PASSWORD = "hengfeng-demo"


def _reset_postgres(url):
    """Start from an empty public schema, so the migrations build everything."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    except Exception as exc:  # a clear message rather than a skipped suite
        raise RuntimeError(
            f"PostgreSQL at {url} is not reachable ({exc}); start it with "
            "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`"
        ) from exc
    finally:
        engine.dispose()


def database_url(tmp_dir):
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return "sqlite:///" + os.path.join(tmp_dir, "test.sqlite")


def app_config(tmp_dir, url, **extra):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "MATERIALS_DIR": os.path.join(tmp_dir, "materials"),
        "WTF_CSRF_ENABLED": False,
        "DEMO_MODE": True,
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "SECRET_KEY": "test-secret-key-of-at-least-32-bytes!",
        # Notifications are written and queued on an in-memory broker no worker reads;
        # the tests of delivery start real workers on Redis (tests/test_notify_*.py).
        "CELERY_BROKER_URL": "memory://",
        "CELERY_BROKER_DIR": os.path.join(tmp_dir, "celery"),
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def db_url(tmp_path_factory):
    return database_url(str(tmp_path_factory.mktemp("db")))


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    app = create_app(app_config(str(tmp_path_factory.mktemp("instance")), db_url))
    with app.app_context():
        upgrade()
        seed_all(demo=True)
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def guarded_app(app, db_url, tmp_path_factory):
    """The app as deployed, with CSRF protection on, over the same database and
    materials: for the tests of cross-site requests and the browser tests, which post
    the screens' real forms."""
    config = app_config(str(tmp_path_factory.mktemp("guarded")), db_url, WTF_CSRF_ENABLED=True,
                        MATERIALS_DIR=app.config["MATERIALS_DIR"])
    guarded = create_app(config)
    yield guarded
    with guarded.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def ctx(app):
    """An application context whose session is cleaned up afterwards."""
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()


def login(client, username, password=DEMO_PASSWORD):
    client.get("/logout/")  # signing in while signed in keeps the old user
    response = client.post("/login/", data={"username": username, "password": password})
    assert response.status_code == 302, f"login of {username} failed"
    return client


def jwt_headers(client, username, password=DEMO_PASSWORD):
    response = client.post(
        "/api/v1/security/login", json={"username": username, "password": password, "provider": "db"}
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return {"Authorization": "Bearer " + response.get_json()["access_token"]}
