"""What ``app/speedups.py`` does once instead of on every call, shown to change nothing
a user sees: FAB's REST lists validate ``?q=`` as before (same answers, same message)
with their schema checked once; Flask-Babel translates into each request's own language,
and outside any request as before."""

import datetime
import re
from types import SimpleNamespace

import flask_babel
import jsonschema
import pytest
from flask_appbuilder.api import get_list_schema
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Department, DepartmentUser, Region
from tests.conftest import DEMO_PASSWORD, jwt_headers, login
from tests.factories import make_case


def _rs_task(app):
    """A case with 人社 items (RS01, RS02 for an enterprise retiree): rows in rs's lists."""
    with app.app_context():
        make_case("window", facts=["pension_enterprise"])
        db.session.remove()


def test_a_list_argument_is_validated_as_before_with_its_schema_checked_once(app, client, monkeypatch):
    _rs_task(app)
    validator_class = jsonschema.validators.validator_for(get_list_schema)
    checked = []
    original = validator_class.check_schema
    monkeypatch.setattr(validator_class, "check_schema", classmethod(lambda cls, schema: checked.append(schema)
                                                                     or original.__func__(cls, schema)))
    headers = jwt_headers(client, "rs")
    for _ in range(3):
        listed = client.get("/api/v1/task/?q=(page_size:5,order_column:id,order_direction:desc)", headers=headers)
        assert listed.status_code == 200 and listed.get_json()["result"]
    wrong = client.get("/api/v1/task/?q=(page_size:'five')", headers=headers)
    assert wrong.status_code == 400
    # Four requests, one check at most (none when an earlier test of the process made it).
    assert len([schema for schema in checked if schema is get_list_schema]) <= 1
    try:
        jsonschema.validate(instance={"page_size": "five"}, schema=get_list_schema)
    except jsonschema.ValidationError as error:  # the message FAB answered before
        expected = str(error).split("\n", 1)[0]
    assert wrong.get_json()["message"] == f"Not a valid rison schema {expected}"


def test_each_request_is_translated_into_its_own_language_and_none_outside_one(app):
    assert flask_babel.gettext("Overdue") == "Overdue"  # no application context: the message itself
    with app.test_request_context("/?_l_=zh"):
        assert flask_babel.gettext("Overdue") == "已超时"
        assert str(flask_babel.get_locale()) == "zh"
    with app.test_request_context("/?_l_=en"):
        assert flask_babel.gettext("Overdue") == "Overdue"  # nothing of the last request's state
        assert str(flask_babel.get_locale()) == "en"
    with app.test_request_context("/?_l_=zh"):
        assert flask_babel.gettext("Overdue by %(n)s working days", n=3) == "超期3个工作日"


def test_the_work_queue_reads_in_chinese_and_in_english(app, client):
    _rs_task(app)
    login(client, "rs")
    chinese = client.get("/taskview/list/?status=all").get_data(as_text=True)
    assert "剩余工作日" in chinese and "等待材料" in chinese  # its column, a task's state
    english = client.get("/taskview/list/?status=all&_l_=en").get_data(as_text=True)
    assert "Working days left" in english and "Waiting for materials" in english and "等待材料" not in english


def _menu(page):
    """The menu bar's entries: FAB's left-hand ``<ul class="nav navbar-nav">``."""
    return re.search(r'<ul class="nav navbar-nav">(.*?)</ul>\s*<ul class="nav navbar-nav navbar-right">', page,
                     re.S).group(1)


def _fresh_menu(app, client, path="/"):
    """The menu as FAB writes it for the signed-in user, nothing kept."""
    app.extensions.pop("navbar_menu", None)
    return _menu(client.get(path).get_data(as_text=True))


@pytest.mark.parametrize("language", ["zh", "en"])
def test_each_user_gets_the_menu_of_their_own_roles_whoever_came_first(app, client, language):
    admin_menu = None
    for username in ("admin", "ga", "window", "supervisor", "manager", "admin"):
        login(client, username)
        client.get(f"/?_l_={language}")
        fresh = _fresh_menu(app, client)
        kept = [_menu(client.get(path).get_data(as_text=True)) for path in ("/", "/taskview/list/")]
        assert kept == [fresh, fresh], username  # kept, on any page, as FAB writes it
        if username == "admin":
            admin_menu = admin_menu or fresh
    login(client, "ga")
    ga_menu = _menu(client.get(f"/?_l_={language}").get_data(as_text=True))
    assert "/users/list/" in admin_menu and "/users/list/" not in ga_menu  # its own, though admin's was kept last
    assert ("任务" if language == "zh" else "Tasks") in ga_menu


def test_a_role_kept_in_the_database_changes_the_menu_at_once(app, client):
    with app.app_context():
        sm = app.appbuilder.sm
        role = sm.find_role("t-menu-role") or sm.add_role("t-menu-role")
        zw = db.session.query(Department).join(Region).filter(Region.code == "361125", Department.code == "ZW").one()
        if not db.session.query(DepartmentUser).filter_by(username="t-menu-user").first():
            db.session.add(DepartmentUser(
                username="t-menu-user", first_name="menu", last_name="user", email="menu@test.invalid", active=True,
                password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                roles=[sm.find_role("Manager"), role], departments=[zw],
            ))
        db.session.commit()
        db.session.remove()
    login(client, "t-menu-user")
    assert "/smsmessageview/list/" not in _menu(client.get("/").get_data(as_text=True))
    with app.app_context():
        sm = app.appbuilder.sm
        for menu in ("Organisation", "Recorded SMS"):  # the entry and its category
            sm.add_permission_role(sm.find_role("t-menu-role"), sm.add_permission_view_menu("menu_access", menu))
        db.session.remove()
    assert "/smsmessageview/list/" in _menu(client.get("/").get_data(as_text=True))


def test_the_access_checks_answer_as_fab_does_for_every_role_and_permission(app):
    from flask_appbuilder.security.sqla.manager import SecurityManager

    appbuilder = app.appbuilder
    sm = appbuilder.sm
    # Every view's permissions and every menu entry's, and one nobody has.
    pairs = {(permission, view.class_permission_name) for view in appbuilder.baseviews
             for permission in view.base_permissions or ()}
    pairs |= {("menu_access", entry.name) for top in appbuilder.menu.get_list()
              for entry in [top, *(top.childs or [])] if entry and entry.name != "-"}
    pairs.add(("can_list", "NoSuchView"))
    with app.app_context():
        roles = list(sm.builtin_roles)
        checked = 0
        for names in [[name] for name in roles] + [roles[:2], []]:
            user = SimpleNamespace(is_authenticated=True, groups=[],
                                   roles=[SimpleNamespace(name=name, id=None) for name in names])
            for permission, view in sorted(pairs):
                for _ in range(2):  # the second answer is the kept one
                    assert sm._has_view_access(user, permission, view) == \
                        SecurityManager._has_view_access(sm, user, permission, view), (names, permission, view)
                checked += 1
        db.session.remove()
    assert checked > 500


def test_a_datamodels_filters_are_built_once_and_handed_out_as_copies(app):
    from flask_appbuilder.models.filters import Filters

    from app.views.cases import TaskView

    datamodel = next(v for v in app.appbuilder.baseviews if isinstance(v, TaskView)).datamodel
    with app.app_context():
        first = Filters(datamodel.filter_converter_class, datamodel, ["deadline", "item"])
        second = Filters(datamodel.filter_converter_class, datamodel, ["deadline", "item"])
        assert first._all_filters.keys() == second._all_filters.keys() and "status" in first._all_filters
        assert first._all_filters["status"] is not second._all_filters["status"]  # copies of the lists
        assert first._all_filters["status"] == second._all_filters["status"]  # of the same filters
        first._search_filters["deadline"].append("extended")  # FAB extends them in place
        assert "extended" not in second._search_filters["deadline"]
        third = Filters(datamodel.filter_converter_class, datamodel, ["deadline"])
        assert "extended" not in third._search_filters["deadline"] and "item" not in third._search_filters


@pytest.mark.parametrize("query", [
    "", "page_TaskView=2", "status=all&_oc_TaskView=status&_od_TaskView=asc", "_oc_TaskView=deadline&_od_TaskView=desc",
    "x=%E4%B8%AD+a%26b/c%3F&x=second&psize_TaskView=50", "figure=done&period=2026-11&_l_=en", "empty=&due=soon",
])
def test_the_list_links_are_the_urls_fab_writes(app, query):
    from flask_appbuilder.filters import TemplateFilters

    from app.speedups import list_link, order_link

    for script_root in ("", "/backoffice"):
        with app.test_request_context(f"/taskview/list/?{query}", base_url=f"http://localhost{script_root}"):
            for value in (0, 3, 100):
                assert list_link("page_")(value, "TaskView") == TemplateFilters.link_page_filter(None, value, "TaskView")
                assert list_link("psize_")(value, "TaskView") == \
                    TemplateFilters.link_page_size_filter(None, value, "TaskView")
            for column in ("deadline", "status"):
                assert order_link(column, "TaskView") == TemplateFilters.link_order_filter(None, column, "TaskView")
    with app.test_request_context("/taskview/show/7?page_TaskView=1"):  # a route with a variable
        assert list_link("page_")(2, "TaskView") == TemplateFilters.link_page_filter(None, 2, "TaskView")


def test_static_urls_are_those_url_for_writes(app):
    layout_url_for = app.jinja_env.globals["url_for"]
    for script_root in ("", "/backoffice"):
        with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
            for endpoint, filename in [("appbuilder.static", "css/bootstrap.min.css"), ("static", "echarts/echarts.min.js")]:
                for _ in range(2):
                    assert layout_url_for(endpoint, filename=filename) == app.url_for(endpoint, filename=filename)
            assert layout_url_for("TaskView.list", due="soon") == app.url_for("TaskView.list", due="soon")


def test_a_request_translates_into_the_language_it_is_switched_to(app):
    from app.speedups import locale_name

    with app.test_request_context("/?_l_=zh"):
        assert flask_babel.gettext("Overdue") == "已超时" and locale_name() == "zh"
        with flask_babel.force_locale("en"):
            assert flask_babel.gettext("Overdue") == "Overdue" and locale_name() == "en"
        assert flask_babel.gettext("Overdue") == "已超时" and locale_name() == "zh"
        with flask_babel.force_locale("en"):  # dates too
            from app.views.base import business_date

            assert business_date(datetime.date(2026, 12, 3)) == "December 3, 2026"
        assert business_date(datetime.date(2026, 12, 3)) == "2026年12月3日"


def test_the_back_history_is_stored_only_when_it_changes(app, client):
    _rs_task(app)
    login(client, "rs")
    first = client.get("/taskview/list/")
    assert first.status_code == 200
    again = client.get("/taskview/list/")  # a reload: the history has this page on top already
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
    other = client.get("/taskview/list/?due=soon")
    assert "Set-Cookie" in other.headers
    with client.session_transaction() as session:
        assert session["page_history"][-2:] == ["http://localhost/taskview/list/",
                                                "http://localhost/taskview/list/?due=soon"]
    back = client.get("/back")  # FAB's back button still goes to the page before
    assert back.status_code == 302 and back.headers["Location"].endswith("/taskview/list/")


def test_the_signed_in_user_is_read_with_their_roles_and_departments_in_one_statement(app):
    from sqlalchemy import event

    with app.app_context():
        rs = db.session.query(DepartmentUser).filter_by(username="rs").one()
        rs_id, departments, roles = rs.id, [d.code for d in rs.departments], [r.name for r in rs.roles]
        db.session.remove()
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            sm = app.appbuilder.sm
            user = sm.get_user_by_id(str(rs_id))  # as Flask-Login hands it over
            assert ([d.code for d in user.departments], [r.name for r in user.roles], list(user.groups)) == \
                (departments, roles, [])
            assert len([s for s in statements if s.startswith("SELECT")]) == 1  # SQLite's BEGIN aside
            assert sm.get_user_by_id(10**9) is None
            assert sm.get_user_by_id("not a number") is None and sm.get_user_by_id(None) is None
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
            db.session.remove()


@pytest.mark.parametrize("language", ["zh", "en"])
def test_templates_translate_as_jinjas_i18n_does(app, language):
    import jinja2.ext

    jinjas = jinja2.ext._make_new_gettext(lambda s: flask_babel.get_translations().ugettext(s))
    source = ('{{ _("Overdue") }}|{{ gettext("Overdue by %(n)s working days", n=n) }}|{{ _("Record Count") }}'
              '|{{ _("100%% <b>", x=1) }}|{{ _("Overdue by %(n)s working days", n=markup) }}')
    with app.test_request_context(f"/?_l_={language}"):
        for autoescape in (True, False):
            env = app.jinja_env.overlay(autoescape=autoescape)
            assert env.globals["_"] is env.globals["gettext"]  # ours: one callable for both
            ours = env.from_string(source).render(n=3, markup="<i>")
            theirs = env.from_string(source, globals={"_": jinja2.ext._gettext_alias, "gettext": jinjas})
            assert ours == theirs.render(n=3, markup="<i>")
        assert app.jinja_env.from_string(source).render(n=3, markup="<i>").split("|")[0] == \
            ("已超时" if language == "zh" else "Overdue")
