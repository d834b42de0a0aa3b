"""Chinese first, English second: every message of ours is translated in both."""

import datetime
import glob
import os
import subprocess
import sys

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from app.views.base import business_date
from tests.conftest import login

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOGUES = sorted(glob.glob(os.path.join(ROOT, "translations", "*", "LC_MESSAGES", "messages.po")))


def test_both_catalogues_exist():
    assert {os.path.basename(os.path.dirname(os.path.dirname(p))) for p in CATALOGUES} == {"zh", "en"}


@pytest.mark.parametrize("path", CATALOGUES)
def test_no_catalogue_has_an_empty_translation(path):
    with open(path, "rb") as f:
        catalog = read_po(f)
    empty = [m.id for m in catalog if m.id and not m.string]
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not empty, f"untranslated in {path}: {empty}"
    assert not fuzzy, f"fuzzy in {path}: {fuzzy}"


@pytest.mark.parametrize("path", CATALOGUES)
def test_compiled_catalogues_are_up_to_date(path):
    with open(path, "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    with open(path[:-3] + ".mo", "rb") as f:
        mo = {m.id: m.string for m in read_mo(f) if m.id}
    assert po == mo, "run translations/build.py"


def test_every_message_in_the_code_is_in_the_catalogues(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(  # noqa: S603
        [os.path.join(os.path.dirname(sys.executable), "pybabel"), "extract", "-F", os.path.join(ROOT, "babel.cfg"),
         "-k", "_l", "-k", "lazy_gettext", "--no-location", "-o", str(pot), ROOT],
        check=True, cwd=ROOT, capture_output=True,
    )
    with open(pot, "rb") as f:
        in_code = {m.id for m in read_po(f) if m.id}
    for path in CATALOGUES:
        with open(path, "rb") as f:
            in_catalogue = {m.id for m in read_po(f) if m.id}
        assert in_code <= in_catalogue, f"run translations/build.py: {sorted(in_code - in_catalogue)}"


def test_chinese_is_the_default(client):
    login(client, "window")
    page = client.get("/caseview/list/").get_data(as_text=True)
    assert "联办案件" in page and "联办业务" in page and "案件编号" in page


def test_english_is_one_click_away(client):
    login(client, "window")
    client.get("/lang/en")
    page = client.get("/caseview/list/").get_data(as_text=True)
    assert "Case handling" in page and "Case number" in page
    client.get("/lang/zh")
    assert "案件编号" in client.get("/caseview/list/").get_data(as_text=True)


def test_both_languages_are_in_the_menu(client):
    login(client, "window")
    page = client.get("/").get_data(as_text=True)
    assert "/lang/en" in page


def test_dates_render_the_chinese_way(app):
    with app.test_request_context():
        with force_locale("zh"):
            assert business_date(datetime.date(2026, 12, 3)) == "2026年12月3日"
        with force_locale("en"):
            assert business_date(datetime.date(2026, 12, 3)) == "December 3, 2026"


def test_task_deadlines_show_in_chinese(client, app):
    from tests.factories import make_case

    with app.app_context():
        from app.extensions import db

        case = make_case("window", [], name="日期测试")
        task = case.tasks[0]
        task.deadline = datetime.date(2026, 12, 3)
        db.session.commit()
        task_id = task.id
        db.session.remove()
    login(client, "window")
    assert "2026年12月3日" in client.get(f"/taskview/show/{task_id}").get_data(as_text=True)


def test_times_are_shown_in_china_standard_time(app):
    from app.views.base import business_datetime

    with app.test_request_context(), force_locale("zh"):
        # 2026-12-03 18:30 UTC is 2026-12-04 02:30 in Beijing.
        assert "2026年12月4日" in business_datetime(datetime.datetime(2026, 12, 3, 18, 30))


# Admin screens over the seeded notice: pages, a raw code each must not show, and the
# Chinese it must show instead.
ADMIN_SCREENS = [
    ("/regionview/list/", ">county<", "县"),
    ("/factview/list/", "civil_affairs", "民政待遇"),
    ("/materialview/list/", ">True<", "<td>是</td>"),
    ("/itemview/list/", ">None<", "即时办理"),
    ("/requirementview/list/", ">None<", "原件"),
    ("/users/list/", "[Window]", "联办窗口（Window）"),
    ("/roles/list/", ">Clerk<", "部门经办人（Clerk）"),
]


@pytest.mark.parametrize("path, raw, chinese", ADMIN_SCREENS, ids=[s[0] for s in ADMIN_SCREENS])
def test_admin_screens_show_chinese_not_codes_or_none(client, path, raw, chinese):
    login(client, "admin")
    page = client.get(path + "?psize_" + path.split("/")[1] + "=100")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert raw not in text.replace("> ", ">").replace(" <", "<")
    assert chinese in text


def test_fabs_own_screens_are_chinese_where_its_catalogue_is_silent(client):
    login(client, "admin")
    text = client.get("/users/list/").get_data(as_text=True)
    assert "Are you sure you want to delete this item?" not in text
