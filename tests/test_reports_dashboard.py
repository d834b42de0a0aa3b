"""The dashboard as managers and supervisors use it: a period picker, the figures of
their region, ECharts served by the app itself, every figure linking to the tasks
behind it; the reports downloaded from it; nothing for a clerk, nothing of another
county. The cases are registered in March 2025, a month no other test uses."""

import datetime as dt
import html
import json
import re

import pytest

from app.domain.statistics import Period, compute_statistics
from app.extensions import db
from app.models import DepartmentUser, Region
from app.models.case import COMPLETED, READY, REJECTED
from app.security.scope import scope_for
from tests.conftest import login
from tests.factories import make_case
from tests.test_pdf import drawn_text
from tests.test_reports import read_csv, utc

MARCH = "2025-03"


def _finish(task, status, ready, finished, deadline):
    task.status, task.ready_at, task.finished_at, task.deadline = status, utc(ready), utc(finished, 15), deadline


@pytest.fixture(scope="module")
def march(app):
    """Two 横峰县 cases and one 弋阳县 case registered in March 2025, with completed
    (on time and late), rejected and overdue tasks."""
    with app.app_context():
        hf1 = make_case("window", ["pension_enterprise", "medical_employee"], name="三月甲")
        hf2 = make_case("window", ["pension_resident", "medical_resident"], name="三月乙")
        yy = make_case("yy-window", ["pension_enterprise"], name="三月丙")
        for case, day in ((hf1, 3), (hf2, 10), (yy, 12)):
            case.registered_at = utc(dt.date(2025, 3, day), 9)
        tasks = {(c.deceased_name, t.item.code): t for c in (hf1, hf2, yy) for t in c.tasks}
        _finish(tasks["三月甲", "MZ01"], COMPLETED, dt.date(2025, 3, 3), dt.date(2025, 3, 3), dt.date(2025, 3, 3))
        _finish(tasks["三月甲", "GA01"], COMPLETED, dt.date(2025, 3, 3), dt.date(2025, 3, 5), dt.date(2025, 3, 5))
        _finish(tasks["三月乙", "GA01"], COMPLETED, dt.date(2025, 3, 10), dt.date(2025, 3, 17), dt.date(2025, 3, 12))
        _finish(tasks["三月甲", "RS02"], REJECTED, dt.date(2025, 3, 3), dt.date(2025, 3, 6), dt.date(2025, 3, 7))
        _finish(tasks["三月丙", "GA01"], COMPLETED, dt.date(2025, 3, 12), dt.date(2025, 3, 13), dt.date(2025, 3, 14))
        overdue = tasks["三月乙", "YB01"]
        overdue.status, overdue.ready_at, overdue.deadline = READY, utc(dt.date(2025, 3, 10)), dt.date(2025, 3, 11)
        db.session.commit()
        ids = {"yy_region": db.session.query(Region).filter_by(code="361126").one().id,
               "hf_region": db.session.query(Region).filter_by(code="361125").one().id,
               "hf_case_nos": [hf1.case_no, hf2.case_no], "yy_case_no": yy.case_no}
        db.session.remove()
        return ids


def record_count(page):
    found = re.search(r"(?:记录数目|Record Count):</strong>\s*(\d+)", page)
    return int(found.group(1)) if found else 0


def test_the_manager_sees_the_countys_figures_for_a_chosen_month(client, march):
    login(client, "manager")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    assert "联办工作统计看板" in page and "横峰县" in page
    assert "2025年3月1日" in page and "2025年3月31日" in page and "2025年2月1日" in page
    assert "弋阳" not in page
    assert 'src="/static/echarts/echarts.min.js"' in page and 'echarts.init(document.getElementById("chart-rate"))' in page
    with client.application.app_context():
        manager = db.session.query(DepartmentUser).filter_by(username="manager").one()
        stats = compute_statistics(db.session, march["hf_region"], Period.month(2025, 3), scope=scope_for(manager))
    assert stats.cases_received == 2 and stats.totals.completed == 3 and stats.totals.on_time == 2
    assert stats.totals.rejected == 1
    assert re.search(rf'id="figure-cases">\s*<div>受理案件</div><div class="value">{stats.cases_received}</div>', page)


def listed(client, href):
    """How many rows the list behind a dashboard link shows."""
    listing = client.get(html.unescape(href) + "&psize_TaskView=100&psize_CaseView=100")
    assert listing.status_code == 200, href
    return record_count(listing.get_data(as_text=True))


def test_every_figure_links_to_the_tasks_behind_it(client, march):
    login(client, "manager")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    links = re.findall(r'<a href="(/taskview/list/\?figure=[^"]+)">(\d+)</a>', page)
    assert len(links) > 50
    followed = 0
    for href, shown in links:
        if shown == "0" and "department" in href:
            continue
        assert listed(client, href) == int(shown), href
        followed += 1
    assert followed >= 10
    # The tasks behind "rejected" are this county's rejected task, with its case.
    rejected = client.get(f"/taskview/list/?figure=rejected&from=2025-03-01&to=2025-03-31&region={march['hf_region']}")
    text = rejected.get_data(as_text=True)
    assert march["hf_case_nos"][0] in text and march["yy_case_no"] not in text
    assert "“不予办理”对应的事项" in text


def test_every_card_links_to_as_many_rows_as_it_shows(client, march):
    login(client, "manager")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    cards = dict((name, (href, value)) for href, name, value in re.findall(
        r'<a class="figure" href="([^"]+)" id="figure-([a-z-]+)">\s*<div>[^<]*</div><div class="value">([^<]+)</div>',
        page))
    # The rate and the average days are not counts of rows; every other card is.
    counted = {name: card for name, card in cards.items() if name not in ("on-time", "days")}
    assert set(counted) == {"cases", "completed", "overdue", "received", "late", "rejected"}
    for name, (href, value) in counted.items():
        assert listed(client, href) == int(value), name
    # 受理案件 counts cases, once each: its link is the case list, not the tasks.
    href, value = counted["cases"]
    assert href.startswith("/caseview/list/?figure=received") and int(value) == 2
    cases = client.get(html.unescape(href)).get_data(as_text=True)
    assert all(no in cases for no in march["hf_case_nos"]) and march["yy_case_no"] not in cases
    assert int(counted["received"][1]) > int(value)  # the tasks of those cases, more rows


def test_the_city_supervisors_case_card_counts_both_counties(client, march):
    login(client, "sr-supervisor")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    href, value = re.search(r'<a class="figure" href="([^"]+)" id="figure-cases">\s*<div>[^<]*</div>'
                            r'<div class="value">(\d+)</div>', page).groups()
    assert int(value) == listed(client, href) >= 3


def chart_data(page):
    return json.loads(html.unescape(re.search(
        r'<script type="application/json" id="chart-data">(.*?)</script>', page, re.S).group(1)))


def test_the_charts_show_the_tables_figures_and_link_to_the_same_tasks(client, march):
    login(client, "sr-supervisor")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    chart = chart_data(page)
    rows = re.findall(r'<tr class="department"><td>([^<]+)</td>(.*?)</tr>', page, re.S)
    assert chart["departments"] == [label for label, _cells in rows] and len(rows) > 10
    columns = ("received", "completed", "on_time", "overdue", "rejected")  # the linked cells, in order
    for index, (label, cells) in enumerate(rows):
        linked = dict(zip(columns, re.findall(r'<a href="([^"]+)">(\d+)</a>', cells), strict=True))
        for figure in ("on_time", "rejected", "overdue"):
            href, shown = linked[figure]
            assert chart[figure][index] == int(shown), (label, figure)
            assert chart["links"][figure][index] == html.unescape(href), (label, figure)
        assert chart["on_time"][index] + chart["late"][index] == int(linked["completed"][1]), label
        rate = None if not int(linked["completed"][1]) else round(100 * int(linked["on_time"][1])
                                                                   / int(linked["completed"][1]), 1)
        assert chart["rates"][index] == rate, label
    assert "弋阳县公安局" in chart["departments"] and "横峰县公安局" in chart["departments"]


def test_the_dashboards_script_carries_the_pages_nonce(client, march):
    login(client, "manager")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", page)
    assert inline and all("nonce=" in attributes or "application/json" in attributes for attributes in inline)


def test_the_city_supervisor_sees_both_counties(client, march):
    login(client, "sr-supervisor")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    assert "上饶市" in page and "横峰县公安局" in page and "弋阳县公安局" in page
    county = client.get(f"/reports/dashboard?month={MARCH}&region={march['yy_region']}").get_data(as_text=True)
    figures = county.split('<div class="row dashboard-figures">', 1)[1]
    assert "公安局" in figures and "弋阳县公安局" not in figures and "横峰" not in figures


@pytest.mark.parametrize("url", [
    "/reports/dashboard?region={yy}", "/reports/statistics.pdf?region={yy}", "/reports/statistics.csv?region={yy}",
    "/reports/overdue.pdf?region={yy}", "/reports/overdue.csv?region={yy}",
])
def test_a_county_manager_cannot_ask_for_the_other_county(client, march, url):
    login(client, "manager")
    assert client.get(url.format(yy=march["yy_region"])).status_code == 404


REPORT_URLS = ["/reports/dashboard", "/reports/statistics.pdf", "/reports/statistics.csv", "/reports/overdue.pdf",
               "/reports/overdue.csv"]


@pytest.mark.parametrize("username", ["ga", "yy-ga", "window", "wj"])
def test_clerks_get_no_reports(client, username):
    login(client, username)
    for url in REPORT_URLS:
        assert client.get(url).status_code == 403, url
    assert "/reports/dashboard" not in client.get("/").get_data(as_text=True)


def test_signed_out_users_are_sent_to_sign_in(client):
    client.get("/logout/")
    for url in REPORT_URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response.headers["Location"]


def test_the_reports_download_from_the_dashboard(client, march):
    login(client, "supervisor")
    page = client.get(f"/reports/dashboard?month={MARCH}").get_data(as_text=True)
    assert f"/reports/statistics.pdf?month={MARCH}&amp;region={march['hf_region']}" in page
    assert "/reports/dashboard" in client.get("/").get_data(as_text=True)
    pdf = client.get(f"/reports/statistics.pdf?month={MARCH}&region={march['hf_region']}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    statistics = client.get(f"/reports/statistics.csv?from=2025-03-01&to=2025-03-31&region={march['hf_region']}")
    assert statistics.mimetype == "text/csv" and "attachment" in statistics.headers["Content-Disposition"]
    rows = read_csv(statistics.data)
    assert rows[-1][2] == "合计" and int(rows[-1][3]) > 0
    overdue = client.get(f"/reports/overdue.csv?region={march['hf_region']}")
    rows = read_csv(overdue.data)
    assert any(r[1] == march["hf_case_nos"][1] and r[2] == "YB01" for r in rows)
    assert not any(r[1] == march["yy_case_no"] for r in rows)
    assert client.get("/reports/overdue.pdf").data.startswith(b"%PDF")


def test_the_city_supervisors_pdf_has_both_counties_and_the_county_managers_only_its_own(client, march, tmp_path):
    login(client, "sr-supervisor")
    city = client.get(f"/reports/statistics.pdf?month={MARCH}", follow_redirects=True)  # the widest: the city
    assert city.status_code == 200 and city.mimetype == "application/pdf"
    text = drawn_text(city.data, tmp_path)
    assert "上饶市“身后一件事”联办工作统计报表" in text
    assert "弋阳县公安局" in text and "横峰县公安局" in text
    login(client, "manager")
    county = drawn_text(client.get(f"/reports/statistics.pdf?month={MARCH}", follow_redirects=True).data, tmp_path)
    assert "横峰县“身后一件事”联办工作统计报表" in county and "公安局" in county
    assert "弋阳" not in county


def test_a_wrong_period_falls_back_to_last_month(client, march):
    login(client, "manager")
    page = client.get("/reports/dashboard?month=2025-13").get_data(as_text=True)
    last = Period.last_month()
    assert "统计期间无效" in page and f"{last.start.year}年{last.start.month}月1日" in page
    assert "最长两年" in client.get("/reports/dashboard?from=2020-01-01&to=2025-01-01").get_data(as_text=True)


def test_the_dashboard_speaks_english_too(client, march):
    login(client, "admin")
    page = client.get(f"/reports/dashboard?month={MARCH}&_l_=en").get_data(as_text=True)
    assert "Joint-handling dashboard" in page and "On-time rate" in page


def test_the_chart_library_is_served_by_the_app(client):
    script = client.get("/static/echarts/echarts.min.js")
    assert script.status_code == 200 and b"echarts" in script.data[:2000]
    assert client.get("/static/echarts/LICENSE").status_code == 200
