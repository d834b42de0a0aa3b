"""The platform: our security manager is the active one, production refuses unsafe
settings, Alembic makes the schema, the audit log is append-only, CSRF protects forms."""

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_appbuilder import Model
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from app import ConfigurationError, check_production, create_app
from app.extensions import db
from app.models import AuditLog, DepartmentUser
from app.security.manager import CaseSecurityManager
from tests.conftest import DEMO_PASSWORD, app_config


def test_our_security_manager_is_the_active_one(app):
    assert type(app.appbuilder.sm) is CaseSecurityManager
    assert app.appbuilder.sm.user_model is DepartmentUser


@pytest.mark.parametrize(
    "config, message",
    [
        ({"APP_ENV": "production", "DEMO_MODE": False}, "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": "dev-only-not-secret-change-me-in-production", "DEMO_MODE": False},
         "SECRET_KEY"),
        ({"APP_ENV": "production", "SECRET_KEY": "a-real-production-secret-of-some-length", "DEMO_MODE": True},
         "DEMO_MODE"),
    ],
)
def test_production_refuses_unsafe_settings(config, message):
    with pytest.raises(ConfigurationError, match=message):
        check_production(config)


def test_production_refuses_a_database_with_demo_accounts(db_url, tmp_path):
    config = app_config(str(tmp_path), db_url, APP_ENV="production", DEMO_MODE=False,
                         SECRET_KEY="a-real-production-secret-of-some-length")
    with pytest.raises(ConfigurationError, match="demo accounts"):
        create_app(config)


def test_production_with_a_real_secret_and_no_demo_starts(tmp_path):
    config = app_config(str(tmp_path), "sqlite:///" + str(tmp_path / "empty.sqlite"), APP_ENV="production",
                         DEMO_MODE=False, SECRET_KEY="a-real-production-secret-of-some-length")
    assert create_app(config).config["APP_ENV"] == "production"


def test_the_migrations_make_exactly_the_models_schema(app):
    """The schema comes from Alembic (FAB's tables included), and it matches the models."""
    assert app.config["FAB_CREATE_DB"] is False
    with app.app_context():
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Model.metadata)
            tables = set(inspect(conn).get_table_names())
        db.session.remove()
    assert not diff, diff
    assert {"ab_user", "ab_role", "ab_user_department", "case", "task", "alembic_version"} <= tables


def test_list_filters_and_sort_columns_are_indexed(app):
    with app.app_context():
        indexes = inspect(db.engine).get_indexes("task")
        db.session.remove()
    assert any(ix["column_names"] == ["department_id", "status", "deadline"] for ix in indexes)


# Tables that grow with every case; the catalogue's tables hold a few dozen rows.
GROWING_TABLES = {"case", "task", "case_material", "audit_log", "death_certificate", "notification", "sms_message"}


def _sortable_and_searchable(view):
    columns = set(getattr(view, "search_columns", None) or ()) | set(getattr(view, "order_columns", None) or ())
    if getattr(view, "base_order", None):
        columns.add(view.base_order[0])
    return columns


def test_every_screen_filters_and_sorts_growing_tables_by_indexed_columns(app):
    """The list view always counts its rows (STACK.md): each column a screen or API lets
    users filter or sort a growing table by leads an index, in the migrated database."""
    unindexed = []
    with app.app_context():
        inspector = inspect(db.engine)
        for view in app.appbuilder.baseviews:
            model = getattr(getattr(view, "datamodel", None), "obj", None)
            table = getattr(model, "__table__", None)
            if table is None or table.name not in GROWING_TABLES:
                continue
            leading = {ix["column_names"][0] for ix in inspector.get_indexes(table.name)}
            leading |= {uc["column_names"][0] for uc in inspector.get_unique_constraints(table.name)}
            leading |= set(inspector.get_pk_constraint(table.name)["constrained_columns"])
            for name in _sortable_and_searchable(view):
                relation = model.__mapper__.relationships.get(name)
                column = list(relation.local_columns)[0].name if relation is not None else name
                if column in table.c and column not in leading:
                    unindexed.append(f"{type(view).__name__}: {table.name}.{column}")
        db.session.remove()
    assert not unindexed, "\n".join(sorted(unindexed))


def test_the_audit_log_cannot_be_rewritten(app):
    with app.app_context():
        db.session.add(AuditLog(action="test_entry", username="tester"))
        db.session.commit()
        entry_id = db.session.query(AuditLog.id).filter_by(action="test_entry").first()[0]
        for statement in (
            "UPDATE audit_log SET reason = 'changed' WHERE id = :id",
            "DELETE FROM audit_log WHERE id = :id",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement), {"id": entry_id})
            db.session.rollback()
        assert db.session.get(AuditLog, entry_id).reason is None
        db.session.remove()


def test_forms_need_their_csrf_token(db_url, tmp_path):
    app = create_app(app_config(str(tmp_path), db_url, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    refused = client.post("/login/", data={"username": "window", "password": DEMO_PASSWORD},
                          headers={"Referer": "http://localhost/login/"})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/login/")  # back to the form
    assert client.get("/caseview/list/").status_code in (302, 403)
    page = client.get("/login/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post("/login/", data={"username": "window", "password": DEMO_PASSWORD, "csrf_token": token})
    assert accepted.status_code == 302
    assert client.get("/caseview/list/").status_code == 200


def test_sign_ins_are_audited(app, client):
    from tests.conftest import jwt_headers, login

    login(client, "manager")
    jwt_headers(client, "manager")
    client.get("/logout/")
    client.post("/login/", data={"username": "manager", "password": "wrong"})
    with app.app_context():
        actions = [
            (a, d["via"]) for a, d in db.session.query(AuditLog.action, AuditLog.detail)
            .filter(AuditLog.username == "manager").order_by(AuditLog.id)
        ]
        db.session.remove()
    assert actions[-3:] == [("login", "screen"), ("login", "api"), ("login_failed", "screen")]
