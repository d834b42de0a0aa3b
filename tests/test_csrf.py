"""Cross-site requests: a page elsewhere cannot make a signed-in user's browser change
anything here. Every screen's POST needs its form's token, deletions and actions are
never done on a GET, and a refused form says so in Chinese with nothing saved. The
tests run the app with CSRF protection on over the suite's database (``guarded_app``)."""

import re

import pytest

from app.extensions import db
from app.models import DepartmentUser, Notification, Task
from tests.conftest import DEMO_PASSWORD
from tests.factories import hand_in_papers, make_case

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def guarded(guarded_app):
    return guarded_app


def sign_in(client, username):
    token = TOKEN.search(client.get("/login/").get_data(as_text=True)).group(1)
    answer = client.post("/login/", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert answer.status_code == 302, f"{username} could not sign in"


@pytest.fixture
def throwaway_user(guarded):
    with guarded.app_context():
        sm = guarded.appbuilder.sm
        user = sm.add_user("csrf-victim", "受害", "用户", "csrf-victim@demo.invalid", [sm.find_role("Clerk")],
                           password="not-a-demo-password-1")
        user_id = user.id
        db.session.remove()
    yield user_id
    with guarded.app_context():
        db.session.query(DepartmentUser).filter_by(id=user_id).delete()
        db.session.commit()
        db.session.remove()


def _user_exists(guarded, user_id):
    with guarded.app_context():
        found = db.session.get(DepartmentUser, user_id) is not None
        db.session.remove()
        return found


def test_a_link_from_elsewhere_cannot_delete_a_user(guarded, throwaway_user):
    client = guarded.test_client()
    sign_in(client, "admin")
    client.get(f"/users/delete/{throwaway_user}")  # what an <a href> or a redirect elsewhere does
    assert _user_exists(guarded, throwaway_user)
    refused = client.post(f"/users/delete/{throwaway_user}")  # a form elsewhere: no token
    assert refused.status_code == 302
    assert _user_exists(guarded, throwaway_user)


@pytest.fixture
def ga_task(guarded):
    """A case whose papers are in: its 户口注销 is ready for 公安 (and ga was told)."""
    with guarded.app_context():
        case = make_case("window", ["pension_resident"], name="跨站测试")
        hand_in_papers(case)
        db.session.commit()
        task = next(t for t in case.tasks if t.item.code == "GA01")
        ids = task.id, case.id, task.version
        db.session.remove()
    return ids


def test_a_form_from_elsewhere_cannot_complete_a_task_and_is_told_so_in_chinese(guarded, ga_task):
    task_id, case_id, version = ga_task
    client = guarded.test_client()
    sign_in(client, "ga")
    case_page = f"http://localhost/caseview/show/{case_id}"
    refused = client.post(f"/case-actions/task/{task_id}/complete", data={"note": "已注销", "version": version},
                          headers={"Referer": case_page})
    assert refused.status_code == 302 and refused.headers["Location"].endswith(f"/caseview/show/{case_id}")
    message = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "表单已过期或并非来自本系统，未保存任何内容" in message
    with guarded.app_context():
        assert db.session.get(Task, task_id).status == "ready"
        db.session.remove()

    # The same action from the case page's own form, with its token, is done.
    token = TOKEN.search(client.get(case_page).get_data(as_text=True)).group(1)
    done = client.post(f"/case-actions/task/{task_id}/complete",
                       data={"note": "已注销", "version": version, "csrf_token": token}, headers={"Referer": case_page})
    assert done.status_code == 302
    with guarded.app_context():
        assert db.session.get(Task, task_id).status == "completed"
        db.session.remove()


def test_a_list_action_needs_the_lists_token(guarded, ga_task):
    client = guarded.test_client()
    sign_in(client, "ga")
    with guarded.app_context():
        ga = db.session.query(DepartmentUser).filter_by(username="ga").one()
        rows = db.session.query(Notification).filter_by(user_id=ga.id, channel="in_app", read_at=None).all()
        for row in rows:
            row.status = "sent"  # as the worker delivers them (none runs here)
        db.session.commit()
        unread = [row.id for row in rows]
        db.session.remove()
    assert unread, "the ready 户口注销 told ga"
    client.post("/notificationview/action_post", data={"action": "mark_read", "rowid": unread})
    with guarded.app_context():
        assert all(db.session.get(Notification, pk).read_at is None for pk in unread)
        db.session.remove()

    token = TOKEN.search(client.get("/notificationview/list/").get_data(as_text=True)).group(1)
    client.post("/notificationview/action_post", data={"action": "mark_read", "rowid": unread, "csrf_token": token})
    with guarded.app_context():
        assert all(db.session.get(Notification, pk).read_at is not None for pk in unread)
        db.session.remove()
