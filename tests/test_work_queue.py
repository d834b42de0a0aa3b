"""The department's work queue, a task's page and the supervisor's urging (督办)."""

import datetime
import re

import pytest
from werkzeug.security import generate_password_hash

from app.domain import chain, clock
from app.extensions import db
from app.models import AuditLog, Department, DepartmentUser, Item, Material, Region, TaskUrging
from tests.conftest import DEMO_PASSWORD, login
from tests.factories import make_case

TODAY = datetime.date(2026, 12, 9)  # a Wednesday
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr(clock, "today_cst", lambda: TODAY)


def _task(case, item_code):
    return next(t for t in case.tasks if t.item.code == item_code)


def _set(task, status, deadline):
    task.status, task.deadline = status, deadline


@pytest.fixture(scope="module")
def queue(app):
    """RS tasks in several states and deadlines, a GA task, and an RS task of 弋阳县."""
    with app.app_context():
        enterprise = make_case("window", ["pension_enterprise"], name="企业逝者")
        institution = make_case("window", ["pension_institution"], name="机关逝者")
        soon = make_case("window", ["pension_enterprise"], name="将到期")
        today = make_case("window", ["pension_enterprise"], name="今日到期")
        done = make_case("window", ["pension_enterprise"], name="已办结")
        refused = make_case("window", ["pension_enterprise"], name="不予办理")
        stopped = make_case("window", ["pension_enterprise"], name="补正中")
        yy = make_case("yy-window", ["pension_enterprise"], name="弋阳逝者")
        _set(_task(enterprise, "RS02"), "ready", datetime.date(2026, 12, 7))  # overdue by 2
        _set(_task(institution, "RS01"), "accepted", datetime.date(2026, 12, 14))  # 3 left
        _set(_task(soon, "RS02"), "ready", datetime.date(2026, 12, 11))  # 2 left
        _set(_task(today, "RS02"), "ready", TODAY)
        _set(_task(done, "RS02"), "completed", datetime.date(2026, 12, 1))
        _set(_task(refused, "RS02"), "rejected", datetime.date(2026, 12, 2))
        stopped_task = _task(stopped, "RS02")
        _set(stopped_task, "supplement_requested", datetime.date(2026, 12, 1))
        stopped_task.supplement_days_left = 1
        _set(_task(yy, "RS02"), "ready", datetime.date(2026, 12, 1))
        ga = next(t for t in enterprise.tasks if t.department.code == "GA")
        _set(ga, "ready", datetime.date(2026, 12, 1))
        window = db.session.query(DepartmentUser).filter_by(username="window").one()
        proof = db.session.query(Material).filter_by(code="DEATH_PROOF").one()
        cremation = db.session.query(Material).filter_by(code="CREMATION_CERT").one()
        death_file = chain.add_material(db.session, institution, proof, window, content=PDF, filename="proof.pdf")
        cremation_file = chain.add_material(db.session, institution, cremation, window, content=PDF,
                                            filename="cremation.pdf")
        # A supervisor of the other county.
        region = db.session.query(Region).filter_by(code="361126").one()
        zw = db.session.query(Department).filter_by(region_id=region.id, code="ZW").one()
        if not db.session.query(DepartmentUser).filter_by(username="t-yy-supervisor").first():
            db.session.add(DepartmentUser(
                username="t-yy-supervisor", first_name="yy", last_name="supervisor", email="yysup@test.invalid",
                active=True, password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                roles=[app.appbuilder.sm.find_role("Supervisor")], departments=[zw],
            ))
        db.session.commit()
        ids = {
            "overdue": _task(enterprise, "RS02").id,
            "rs01": _task(institution, "RS01").id,
            "soon": _task(soon, "RS02").id,
            "today": _task(today, "RS02").id,
            "done": _task(done, "RS02").id,
            "rejected": _task(refused, "RS02").id,
            "stopped": stopped_task.id,
            "yy": _task(yy, "RS02").id,
            "ga": ga.id,
            "death_file": death_file.id,
            "cremation_file": cremation_file.id,
            "enterprise_id": enterprise.deceased_id_number,
            "institution_id": institution.deceased_id_number,
        }
        db.session.remove()
        return ids


def _rows(page):
    """Task id → the row's text, for every row of a list page."""
    rows = {}
    for match in re.finditer(r"<tr[^>]*>(.*?)</tr>", page, re.S):
        found = re.search(r"/taskview/show/(\d+)", match.group(1))
        if found:
            rows[int(found.group(1))] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1)))
    return rows


def _list(client, **args):
    query = "&".join(f"{k}={v}" for k, v in dict(args, psize_TaskView=1000).items())
    response = client.get(f"/taskview/list/?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_clerk_sees_only_own_departments_open_tasks(client, queue):
    rows = _rows(_list(login(client, "rs")))
    for key in ("overdue", "rs01", "soon", "today", "stopped"):
        assert queue[key] in rows, key
    for key in ("done", "rejected", "yy", "ga"):
        assert queue[key] not in rows, key


def test_a_clerk_moved_to_another_department_sees_its_queue_on_the_next_page(app, client, queue):
    """The row filter is kept per scope, not per user: a clerk whose departments an
    administrator changes sees the new department's tasks, and no longer the old one's,
    on the next request."""
    def move_to(code):
        with app.app_context():
            user = db.session.query(DepartmentUser).filter_by(username="t-mover").one_or_none()
            hengfeng = db.session.query(Region).filter_by(code="361125").one()
            department = db.session.query(Department).filter_by(region_id=hengfeng.id, code=code).one()
            if user is None:
                db.session.add(DepartmentUser(
                    username="t-mover", first_name="mover", last_name="clerk", email="mover@test.invalid",
                    active=True, password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
                    roles=[app.appbuilder.sm.find_role("Clerk")], departments=[department],
                ))
            else:
                user.departments = [department]
            db.session.commit()
            db.session.remove()

    move_to("RS")
    login(client, "t-mover")
    rows = _rows(_list(client))
    assert queue["overdue"] in rows and queue["ga"] not in rows
    move_to("GA")
    rows = _rows(_list(client))
    assert queue["ga"] in rows and queue["overdue"] not in rows and queue["rs01"] not in rows


def test_days_left_count_working_days_and_overdue_rows_are_marked(client, queue):
    page = _list(login(client, "rs"))
    rows = _rows(page)
    assert "-2" in rows[queue["overdue"]] and "超期2个工作日" in rows[queue["overdue"]]
    assert rows[queue["soon"]].rstrip().endswith("2")
    assert rows[queue["rs01"]].rstrip().endswith("3")
    assert "超期" not in rows[queue["soon"]] and "已超时" not in rows[queue["today"]]
    assert "1 计时暂停" in rows[queue["stopped"]]  # the clock stands at what was left
    marked = _marked_rows(page)
    assert queue["overdue"] in marked
    assert not {queue[k] for k in ("soon", "today", "rs01", "stopped")} & marked


def _marked_rows(page):
    """The ids of the rows marked overdue (the whole row, not only its cell)."""
    return {int(pk) for pk in re.findall(r'<tr class="danger overdue">.*?/taskview/show/(\d+)', page, re.S)}


def test_queue_is_ordered_most_urgent_first(client, queue):
    order = list(_rows(_list(login(client, "rs"))))
    mine = [queue[k] for k in ("overdue", "today", "soon", "rs01")]
    assert [pk for pk in order if pk in mine] == mine


def _header(page, label):
    return next(th for th in re.findall(r"<th[^>]*>.*?</th>", page, re.S) if label in th)


def test_the_default_order_is_shown_on_the_deadline_header(client, queue):
    login(client, "rs")
    deadline = _header(_list(client), "办理期限")
    assert 'class="default-order"' in deadline and "最紧急的在前" in deadline and "fa-chevron-up" in deadline
    assert "_od_TaskView=desc" in deadline.replace("&amp;", "&")  # a click reverses it
    assert "fa-arrows-v" in _header(_list(client), "状态")
    reversed_page = _list(client, _oc_TaskView="deadline", _od_TaskView="desc")
    assert "default-order" not in _header(reversed_page, "办理期限")
    order = [pk for pk in _rows(reversed_page) if pk in {queue["overdue"], queue["rs01"]}]
    assert order == [queue["rs01"], queue["overdue"]]


def test_quick_filters(client, queue):
    login(client, "rs")
    page = _list(client)
    for label in ("全部在办", "待办", "今日到期", "即将到期", "已超时"):
        assert label in page.split("work-queue-quick", 1)[1].split("</p>", 1)[0], label
    overdue = _rows(_list(client, due="overdue"))
    assert queue["overdue"] in overdue
    assert not {queue[k] for k in ("soon", "today", "rs01", "stopped")} & set(overdue)
    today = _rows(_list(client, due="today"))
    assert queue["today"] in today and queue["overdue"] not in today and queue["soon"] not in today
    todo = _rows(_list(client, due="todo"))
    assert {queue[k] for k in ("overdue", "soon", "today", "rs01")} <= set(todo)
    assert queue["stopped"] not in todo


def test_due_soon_is_due_within_the_next_working_days(client, queue):
    login(client, "rs")
    # Today is Wednesday 12-09: "soon" is today and Thursday 12-10 by default; two
    # working days reach Friday 12-11, three Monday 12-14.
    soon = set(_rows(_list(client, due="soon")))
    assert queue["today"] in soon
    assert not {queue[k] for k in ("soon", "rs01", "overdue", "stopped")} & soon
    two = set(_rows(_list(client, due="soon", days=2)))
    assert {queue["today"], queue["soon"]} <= two and queue["rs01"] not in two
    three = set(_rows(_list(client, due="soon", days=3)))
    assert {queue["today"], queue["soon"], queue["rs01"]} <= three and queue["overdue"] not in three
    assert set(_rows(_list(client, due="soon", days="abc"))) == soon  # nonsense: the default window


def test_status_choice_has_chinese_labels_and_lists_finished_tasks(client, queue):
    login(client, "rs")
    choice = _list(client).split('name="status"', 1)[1].split("</select>", 1)[0]
    for value, label in (("", "全部在办"), ("ready", "待办理"), ("accepted", "已受理"),
                         ("supplement_requested", "待补正"), ("completed", "已办结"), ("rejected", "不予办理"),
                         ("all", "全部状态")):
        assert re.search(rf'<option value="{value}"[^>]*>\s*{label}\s*</option>', choice), label
    accepted = _rows(_list(client, status="accepted"))
    assert queue["rs01"] in accepted and queue["soon"] not in accepted
    completed = _rows(_list(client, status="completed"))
    assert queue["done"] in completed and not {queue[k] for k in ("rs01", "soon", "rejected")} & set(completed)
    rejected = _rows(_list(client, status="rejected"))
    assert queue["rejected"] in rejected and queue["done"] not in rejected
    everything = _rows(_list(client, status="all"))
    assert {queue[k] for k in ("done", "rejected", "rs01", "stopped")} <= set(everything)
    assert queue["yy"] not in everything and queue["ga"] not in everything  # the row filter still holds
    chosen = _list(client, status="completed")
    assert re.search(r'<option value="completed" selected>', chosen)
    assert set(_rows(_list(client, status="nonsense"))) == set(_rows(_list(client)))
    assert set(_rows(_list(client, status="accepted", due="overdue"))).isdisjoint(
        {queue[k] for k in ("rs01", "overdue", "done")})


def test_the_queue_narrows_to_one_of_the_departments_items(client, queue):
    login(client, "rs")
    page = _list(client)
    choice = page.split('name="item"', 1)[1].split("</select>", 1)[0]
    offered = re.findall(r'<option value="([A-Z0-9]*)"', choice)
    assert offered == ["", "RS01", "RS02", "RS03"]  # 人社's items only, and "every item"
    assert "RS01 机关事业单位人员个人账户余额一次性支付" in choice
    rs01 = _rows(_list(client, item="RS01"))
    assert queue["rs01"] in rs01 and queue["soon"] not in rs01 and queue["overdue"] not in rs01
    assert _rows(_list(client, item="GA01")) == {}  # another department's item: still only one's own rows
    both = _rows(_list(client, item="RS02", due="overdue"))  # the choices combine
    assert queue["overdue"] in both and not {queue[k] for k in ("rs01", "soon", "today")} & set(both)
    assert "搜索" not in page.split('class="work-queue-quick"', 1)[1]  # FAB's generic search gives way to these


def test_a_supervisor_lists_the_regions_finished_tasks(client, queue):
    rows = _rows(_list(login(client, "supervisor"), status="completed"))
    assert queue["done"] in rows and queue["yy"] not in rows and queue["rs01"] not in rows


def test_finished_task_page_still_opens(client, queue):
    assert login(client, "rs").get(f"/taskview/show/{queue['done']}").status_code == 200


def test_empty_values_show_as_nothing_not_none(client, queue):
    login(client, "rs")
    for url in (f"/taskview/show/{queue['rs01']}", f"/taskview/show/{queue['stopped']}", "/taskview/list/?psize_TaskView=1000",
                "/taskview/list/?status=all&psize_TaskView=1000"):
        page = client.get(url).get_data(as_text=True)
        assert "办理结果" in page or "/list/" in url
        assert not re.search(r">\s*None\s*<", page), url


def test_deceased_id_is_masked_unless_the_item_needs_it(client, queue):
    login(client, "rs")
    rs01 = client.get(f"/taskview/show/{queue['rs01']}").get_data(as_text=True)
    masked = queue["institution_id"][:6] + "********" + queue["institution_id"][-4:]
    assert masked in rs01 and queue["institution_id"] not in rs01
    rs02 = client.get(f"/taskview/show/{queue['overdue']}").get_data(as_text=True)
    assert queue["enterprise_id"] in rs02


def test_applicant_phone_is_masked_except_for_the_window(client, queue):
    page = login(client, "rs").get(f"/taskview/show/{queue['rs01']}").get_data(as_text=True)
    assert "138****8000" in page and "13800138000" not in page
    page = login(client, "window").get(f"/taskview/show/{queue['rs01']}").get_data(as_text=True)
    assert "13800138000" in page


def test_task_page_lists_only_the_items_materials(client, queue):
    page = login(client, "rs").get(f"/taskview/show/{queue['rs01']}").get_data(as_text=True)
    materials = page.split("item-materials", 1)[1].split("</table>", 1)[0]
    assert "死亡证明" in materials and "逝者银行卡或社保卡" in materials
    assert "火化证明" not in materials and "逝者身份证" not in materials
    assert f"/case-actions/material/{queue['death_file']}/download" in materials
    assert f"/case-actions/material/{queue['cremation_file']}/download" not in page
    assert "养老" in page.split("item-facts", 1)[1].split("</p>", 1)[0]


def _urge(client, task_id, note="请尽快办理"):
    return client.post(f"/taskview/urge/{task_id}", data={"note": note})


def _urgings(app, task_id):
    with app.app_context():
        rows = [u.note for u in db.session.query(TaskUrging).filter_by(task_id=task_id)]
        audit = db.session.query(AuditLog).filter_by(action="task_urged", object_id=task_id).count()
        db.session.remove()
        return rows, audit


def test_supervisor_sees_the_regions_overdue_tasks(client, queue):
    rows = _rows(_list(login(client, "supervisor"), due="overdue"))
    assert queue["overdue"] in rows and queue["ga"] in rows and queue["yy"] not in rows
    assert "/taskview/list/?due=overdue" in client.get("/").get_data(as_text=True)


def test_supervisor_urges_with_a_note_and_the_department_sees_it(app, client, queue):
    login(client, "supervisor")
    assert _urge(client, queue["soon"], note="  ").status_code == 302
    assert _urgings(app, queue["soon"]) == ([], 0)
    assert _urge(client, queue["soon"], note="请于本周内办结").status_code == 302
    assert _urgings(app, queue["soon"]) == (["请于本周内办结"], 1)
    for username in ("rs", "window", "supervisor", "sr-supervisor"):
        page = login(client, username).get(f"/taskview/show/{queue['soon']}").get_data(as_text=True)
        assert "请于本周内办结" in page, username


def test_urging_outside_the_region_is_not_found(app, client, queue):
    login(client, "t-yy-supervisor")
    assert _urge(client, queue["overdue"]).status_code == 404
    login(client, "supervisor")
    assert _urge(client, queue["yy"]).status_code == 404
    assert _urgings(app, queue["overdue"])[0] == [] and _urgings(app, queue["yy"])[0] == []


def test_clerks_cannot_urge(app, client, queue):
    for username in ("rs", "yy-ga"):
        response = _urge(login(client, username), queue["overdue"])
        assert response.status_code in (302, 403)
    assert _urgings(app, queue["overdue"]) == ([], 0)


def test_urgings_are_hidden_from_other_departments(app, client, queue):
    login(client, "supervisor")
    _urge(client, queue["rs01"], note="督办RS01")
    with app.app_context():
        from app.security.scope import scope_for, visibility_clause

        def visible(username):
            user = db.session.query(DepartmentUser).filter_by(username=username).one()
            clause = visibility_clause(TaskUrging, scope_for(user))
            query = db.session.query(TaskUrging).filter(TaskUrging.task_id == queue["rs01"])
            return query.filter(clause).count() if clause is not None else query.count()

        assert visible("rs") == visible("window") == visible("supervisor") == 1
        assert visible("ga") == visible("yy-ga") == visible("t-yy-supervisor") == 0
        db.session.remove()
    assert "督办RS01" not in login(client, "ga").get(f"/taskview/show/{queue['rs01']}").get_data(as_text=True)


def _statements(app, client, url):
    """The page's text and the SQL statements its request issued."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    seen = []

    def count(*_args):
        seen.append(_args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        page = client.get(url).get_data(as_text=True)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return page, seen


def test_the_queue_reads_its_rows_in_one_query_however_many_items_and_departments(app, client, queue, monkeypatch):
    """The case cells come with the page's rows and the item and department cells (the
    department named with its county) from the catalogue's labels: no query per
    distinct item or department."""
    from app.views import cases

    for kept in (cases.CATALOGUE_LABELS, cases.DISPLAY_CALENDAR):
        monkeypatch.setattr(kept, "ttl", 3600.0)  # neither is due to be read again between the pages
    login(client, "supervisor")
    client.get("/taskview/list/")  # the calendar and the user's first page behind us
    many, many_sql = _statements(app, client, "/taskview/list/?status=all&psize_TaskView=1000")
    one, one_sql = _statements(app, client, "/taskview/list/?status=all&item=RS01&psize_TaskView=1000")
    rows = _rows(many)
    assert {queue["ga"], queue["rs01"], queue["overdue"]} <= rows.keys()  # GA and RS, RS01 and RS02
    assert "横峰县公安局" in rows[queue["ga"]] and "RS02" in rows[queue["overdue"]] and "RS01" in rows[queue["rs01"]]
    assert "企业逝者" in rows[queue["overdue"]]  # the case's cells too
    assert set(_rows(one)) < set(rows)
    assert len(many_sql) == len(one_sql), "\n\n".join(many_sql)


def test_the_record_count_is_the_number_of_rows(client, queue):
    for username, args in (("rs", {}), ("rs", {"status": "all"}), ("supervisor", {"due": "overdue"})):
        page = _list(login(client, username), **args)
        count = int(re.search(r"<strong>[^<]*:</strong>\s*(\d+)", page).group(1))
        assert count == len(_rows(page)) > 0, (username, args)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_queue_header_is_fabs_list_header(app, language):
    """Pagination, page size, back and the record count as FAB's ``render_list_header``
    writes them, for first, middle and last pages of short and long lists."""
    from app.views.cases import queue_header

    def normal(html):
        return re.sub(r"> <", "><", re.sub(r"\s+", " ", str(html))).strip()

    fab = app.jinja_env.from_string(
        "{% import 'appbuilder/general/lib.html' as lib %}"
        "{{ lib.render_list_header(False, page, page_size, count, None, [], 'TaskView') }}"
    )
    cases = [(None, 25, 0), (None, 25, 7), (None, 25, 26), (0, 25, 1000), (3, 25, 1000), (39, 25, 1000),
             (5, 50, 260), (1, 100, 150), (9, 25, 250), (2, 25, 80)]
    with app.test_request_context(f"/taskview/list/?status=all&_l_={language}&x=%E4%B8%AD"):
        for page, page_size, count in cases:
            expected = normal(fab.render(page=page, page_size=page_size, count=count))
            assert normal(queue_header(page, page_size, count, "TaskView")) == expected, (page, page_size, count)


def test_a_renamed_item_or_department_is_shown_by_its_new_name_at_once(app, client, queue):
    login(client, "rs")
    assert "RS02 " in _rows(_list(client))[queue["overdue"]]
    with app.app_context():
        item = db.session.query(Item).filter_by(code="RS02").one()
        department = db.session.query(Department).join(Region).filter(Region.code == "361125",
                                                                        Department.code == "RS").one()
        ids, names = (item.id, department.id), (item.name, department.name)
        item.name, department.name = "改名后的事项", "改名后的人社局"
        db.session.commit()
    try:
        row = _rows(_list(client))[queue["overdue"]]
        assert "RS02 改名后的事项" in row and "横峰县改名后的人社局" in row
    finally:
        with app.app_context():
            item, department = db.session.get(Item, ids[0]), db.session.get(Department, ids[1])
            item.name, department.name = names
            db.session.commit()
    row = _rows(_list(client))[queue["overdue"]]
    assert "改名后" not in row and f"RS02 {names[0]}" in row


def test_the_queue_builds_no_search_form_it_does_not_show_and_fab_url_filters_still_apply(app, client, queue,
                                                                                          monkeypatch):
    from app.views.cases import TaskView

    view = next(v for v in app.appbuilder.baseviews if isinstance(v, TaskView))
    built = []
    monkeypatch.setattr(view.search_form.form, "refresh", classmethod(lambda cls, *a, **k: built.append(cls)))
    login(client, "rs")
    page = _list(client, status="all")
    assert built == [] and "work-queue-filter" in page  # the queue's own filters are there
    rs01 = _rows(_list(client, status="all", _flt_0_item=_item_id(app, "RS01")))
    assert queue["rs01"] in rs01 and queue["overdue"] not in rs01  # FAB's ?_flt_ filter on the item, as before


def _item_id(app, code):
    with app.app_context():
        return db.session.query(Item.id).filter_by(code=code).scalar()


def test_the_days_left_follow_the_language_the_day_and_the_calendar_at_once(app, client, queue, monkeypatch):
    """The time-left cells are written once per (language, day, calendar, task clock):
    another language, another day or a holiday entered shows at once."""
    from app.models import CalendarDay

    login(client, "rs")
    assert "超期2个工作日" in _rows(_list(client, _l_="zh"))[queue["overdue"]]
    assert "Overdue by 2 working days" in _rows(_list(client, _l_="en"))[queue["overdue"]]
    assert "超期2个工作日" in _rows(_list(client, _l_="zh"))[queue["overdue"]]
    monkeypatch.setattr(clock, "today_cst", lambda: TODAY + datetime.timedelta(days=1))  # Thursday
    assert "超期3个工作日" in _rows(_list(client))[queue["overdue"]]
    assert _rows(_list(client))[queue["soon"]].rstrip().endswith("1")
    with app.app_context():  # Friday 12-11, the soon task's deadline, made a holiday
        db.session.add(CalendarDay(day=datetime.date(2026, 12, 11), kind="holiday", name="test"))
        db.session.commit()
    try:
        assert _rows(_list(client))[queue["soon"]].rstrip().endswith("0")
    finally:
        with app.app_context():
            db.session.query(CalendarDay).filter_by(day=datetime.date(2026, 12, 11)).delete()
            db.session.commit()


def test_the_queue_filters_follow_the_day_and_the_calendar_though_its_statements_are_kept(app, client, queue,
                                                                                            monkeypatch):
    """The queue's statements are kept per user, scope, day, calendar and arguments: the
    same request the next day, or after a holiday is entered, lists what is due then."""
    from app.models import CalendarDay

    login(client, "rs")
    due_today = set(_rows(_list(client, due="today")))
    assert queue["today"] in due_today and queue["soon"] not in due_today
    assert set(_rows(_list(client, due="today"))) == due_today  # again, from the kept statements
    monkeypatch.setattr(clock, "today_cst", lambda: datetime.date(2026, 12, 11))  # Friday: the soon task's day
    due_friday = set(_rows(_list(client, due="today")))
    assert queue["soon"] in due_friday and queue["today"] not in due_friday
    monkeypatch.setattr(clock, "today_cst", lambda: TODAY)
    # Wednesday: "soon" within two working days reaches Friday 12-11 ...
    assert queue["soon"] in set(_rows(_list(client, due="soon", days=2)))
    with app.app_context():  # ... until Thursday 12-10 is a holiday: then it reaches Friday only
        db.session.add(CalendarDay(day=datetime.date(2026, 12, 10), kind="holiday", name="test"))
        db.session.commit()
    try:
        within_one = set(_rows(_list(client, due="soon", days=1)))
        assert queue["soon"] in within_one and queue["rs01"] not in within_one
    finally:
        with app.app_context():  # as the calendar screen deletes a day
            db.session.delete(db.session.query(CalendarDay).filter_by(day=datetime.date(2026, 12, 10)).one())
            db.session.commit()
    assert queue["soon"] not in set(_rows(_list(client, due="soon", days=1)))
