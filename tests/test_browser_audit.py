"""The audit log searched as a supervisor does it, in a real browser: 搜索 › 添加过滤条件 ›
操作, the action picked from its Chinese label, 搜索; only that action's rows are listed
(a sign-in, not the failed sign-ins that "starts with" a code would also find)."""

import re

import pytest

from tests.browser_support import chromium, served, sign_in
from tests.test_audit import _latest, _listed_ids


@pytest.fixture(scope="module")
def server(guarded_app):
    with served(guarded_app) as base:
        yield base


def test_a_supervisor_finds_the_sign_ins_by_choosing_the_action(guarded_app, server):
    with chromium() as browser:
        page = browser.new_page()
        sign_in(page, server, "ga")
        page.context.clear_cookies()
        page.goto(server + "/login/")  # and a failed sign-in of the same user
        page.fill("#username", "ga")
        page.fill("#password", "not-the-password")
        page.click("input[type=submit], button[type=submit]")
        page.wait_for_load_state()
        signed_in, failed = (_latest(guarded_app, "ga", action) for action in ("login", "login_failed"))

        page.context.clear_cookies()
        sign_in(page, server, "supervisor")
        page.goto(server + "/auditlogview/list/")
        page.click("#accordion1 a.accordion-toggle")  # 搜索: the search panel opens
        page.click("#filter_form .dropdown-toggle")
        page.click("#filter_form a.filter[name=action]")
        choice = page.locator("#filter_form select[name^=_flt_][name$=_action].filter_val")
        labels = [text.strip() for text in choice.locator("option").all_inner_texts()]
        assert "登录" in labels and "登录失败" in labels and "办结任务" in labels
        assert not any(re.fullmatch(r"[a-z_]+", text) for text in labels)  # words, not codes
        operations = [text.strip() for text in page.locator("#filter_form select.filter-op option").all_inner_texts()]
        assert operations == ["等于", "不等于"]
        choice.select_option(label="登录")
        page.click("#filter_form button[type=submit]")
        page.wait_for_load_state()

        listed = _listed_ids(page.content())
        assert signed_in in listed and failed not in listed
        assert "_flt_0_action=login" in page.url
        page.close()
