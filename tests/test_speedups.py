"""What ``app/speedups.py`` does once instead of on every call, shown to change nothing
a user sees: FAB's REST lists validate ``?q=`` as before (same answers, same message)
with their schema checked once; Flask-Babel translates into each request's own language,
and outside any request as before."""

import flask_babel
import jsonschema
from flask_appbuilder.api import get_list_schema

from app.extensions import db
from tests.conftest import jwt_headers, login
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
