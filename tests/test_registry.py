"""The death-certificate registry: issuers register death proofs for their own
department only, with clear Chinese errors and nothing written on error; supervisors
read their region's; the window looks one up in its own county, and each lookup is
audited."""

import datetime
import itertools
import re

import pytest
from werkzeug.security import generate_password_hash

from app import create_app
from app.domain.clock import today_cst
from app.domain.identity import make_id_number
from app.domain.registry import differences, find_certificate
from app.extensions import db
from app.models import AuditLog, DeathCertificate, Department, DepartmentUser, Region
from tests.conftest import DEMO_PASSWORD, app_config, jwt_headers, login
from tests.factories import id_number

_numbers = itertools.count(1)

# Issuers this module adds beside the demo's `wj`.
HF_GA_ISSUER = "t-reg-hf-ga"
YY_WJ_ISSUER = "t-reg-yy-wj"
NO_DEPARTMENT_ISSUER = "t-reg-nodept"


def new_number(prefix="TREG"):
    return f"{prefix}-{next(_numbers):05d}"


def _department(region_code, code):
    region = db.session.query(Region).filter_by(code=region_code).one()
    return db.session.query(Department).filter_by(region_id=region.id, code=code).one()


def _add_user(username, role, departments):
    if db.session.query(DepartmentUser).filter_by(username=username).first():
        return
    db.session.add(DepartmentUser(
        username=username, first_name=username, last_name="", email=f"{username}@test.invalid", active=True,
        password=generate_password_hash(DEMO_PASSWORD, method="pbkdf2:sha256:1000"),
        roles=[role], departments=departments,
    ))


def _certificate(region_code, dept_code, kind, circumstance, name, number=None):
    cert = DeathCertificate(
        number=number or new_number(),
        kind=kind,
        deceased_name=name,
        deceased_id_number=id_number(region_code, "19450203"),
        death_date=today_cst() - datetime.timedelta(days=2),
        death_circumstance=circumstance,
        department=_department(region_code, dept_code),
    )
    db.session.add(cert)
    return cert


@pytest.fixture(scope="module")
def certs(app):
    """One certificate of each issuer: 横峰县's 卫健 and 公安, 弋阳县's 卫健 and 公安;
    a 公安 issuer of 横峰县, a 卫健 issuer of 弋阳县 and an issuer serving no department."""
    with app.app_context():
        issuer = app.appbuilder.sm.find_role("CertIssuer")
        _add_user(HF_GA_ISSUER, issuer, [_department("361125", "GA")])
        _add_user(YY_WJ_ISSUER, issuer, [_department("361126", "WJ")])
        _add_user(NO_DEPARTMENT_ISSUER, issuer, [])
        rows = {
            "hf_wj": _certificate("361125", "WJ", "medical", "in_hospital", "横峰医院逝者"),
            "hf_ga": _certificate("361125", "GA", "unnatural", "unnatural", "横峰非正常"),
            "yy_wj": _certificate("361126", "WJ", "medical", "outside_hospital", "弋阳医院逝者"),
            "yy_ga": _certificate("361126", "GA", "unnatural", "unnatural", "弋阳非正常"),
        }
        db.session.commit()
        found = {
            key: {"id": c.id, "number": c.number, "id_number": c.deceased_id_number, "name": c.deceased_name}
            for key, c in rows.items()
        }
        db.session.remove()
        return found


def _form(**overrides):
    form = {
        "number": new_number("FORM"),
        "kind": "medical",
        "deceased_name": "张三",
        "deceased_id_number": id_number("361125", "19500101"),
        "death_date": (today_cst() - datetime.timedelta(days=1)).isoformat(),
        "death_circumstance": "in_hospital",
        "note": "",
    }
    form.update(overrides)
    return form


def _count(**filters):
    with db.session.no_autoflush:
        return db.session.query(DeathCertificate).filter_by(**filters).count()


# --- Registering through the screen ---------------------------------------------------------


def test_an_issuer_registers_a_certificate_for_their_own_department(client, ctx, certs):
    login(client, "wj")
    page = client.get("/deathcertificateview/add")
    assert page.status_code == 200
    assert "死亡医学证明" in page.get_data(as_text=True)
    ga = _department("361125", "GA")
    yy_wj = _department("361126", "WJ")
    form = _form(deceased_name="李四", department=str(ga.id), region=str(yy_wj.region_id), issued_by_id="1")
    response = client.post("/deathcertificateview/add", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    cert = db.session.query(DeathCertificate).filter_by(number=form["number"]).one()
    wj = db.session.query(DepartmentUser).filter_by(username="wj").one()
    # The department and the issuer come from the signed-in user, never from the form.
    assert (cert.department.code, cert.department.region.code) == ("WJ", "361125")
    assert cert.issued_by_id == wj.id
    assert (cert.kind, cert.deceased_name, cert.death_circumstance) == ("medical", "李四", "in_hospital")
    listing = client.get("/deathcertificateview/list/").get_data(as_text=True)
    assert form["number"] in listing


def test_the_issuers_menu_offers_the_registry_in_chinese(client, certs):
    login(client, "wj")
    page = client.get("/deathcertificateview/list/").get_data(as_text=True)
    assert "死亡证明登记" in page and "/deathcertificateview/list/" in page
    assert "联办案件" not in page  # no cases for an issuer


def _csrf_token(page):
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_the_add_form_needs_its_csrf_token(db_url, tmp_path, certs):
    app = create_app(app_config(str(tmp_path), db_url, WTF_CSRF_ENABLED=True))
    client = app.test_client()
    token = _csrf_token(client.get("/login/").get_data(as_text=True))
    client.post("/login/", data={"username": "wj", "password": DEMO_PASSWORD, "csrf_token": token})
    form = _form()
    refused = client.post("/deathcertificateview/add", data=form, headers={"Referer": "http://localhost/deathcertificateview/add"})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/deathcertificateview/add")
    with app.app_context():
        assert _count(number=form["number"]) == 0
        db.session.remove()
    token = _csrf_token(client.get("/deathcertificateview/add").get_data(as_text=True))
    assert client.post("/deathcertificateview/add", data=dict(form, csrf_token=token)).status_code == 302
    with app.app_context():
        assert _count(number=form["number"]) == 1
        db.session.remove()


def test_the_police_issue_an_unnatural_death_certificate(client, ctx, certs):
    login(client, HF_GA_ISSUER)
    page = client.get("/deathcertificateview/add").get_data(as_text=True)
    assert re.search(r'<option selected value="unnatural"|<option value="unnatural" selected', page)
    form = _form(kind="unnatural", death_circumstance="unnatural", deceased_id_number=id_number("361125", "19700505"))
    assert client.post("/deathcertificateview/add", data=form).status_code == 302
    cert = db.session.query(DeathCertificate).filter_by(number=form["number"]).one()
    assert (cert.department.code, cert.kind) == ("GA", "unnatural")


def test_today_in_china_is_not_the_future(client, ctx, certs):
    """The server's clock runs in UTC; the business day is China's."""
    login(client, "wj")
    form = _form(death_date=today_cst().isoformat())
    assert client.post("/deathcertificateview/add", data=form).status_code == 302
    assert _count(number=form["number"]) == 1


def test_a_lowercase_check_character_is_stored_in_capitals(client, ctx, certs):
    birth = datetime.date(1952, 3, 3)
    number = next(n for n in (make_id_number("361125", birth, s) for s in range(1, 1000)) if n.endswith("X"))
    login(client, "wj")
    form = _form(deceased_id_number=number.lower())
    assert client.post("/deathcertificateview/add", data=form).status_code == 302
    assert db.session.query(DeathCertificate).filter_by(number=form["number"]).one().deceased_id_number == number


INVALID = {
    "bad ID check character": (
        "wj", {"deceased_id_number": id_number("361125", "19500101")[:17] + "0"},
        "不是有效的居民身份证号码",
    ),
    "impossible birth date": ("wj", {"deceased_id_number": "361125195002301234"}, "不是有效的居民身份证号码"),
    "future date of death": (
        "wj", {"death_date": (today_cst() + datetime.timedelta(days=1)).isoformat()}, "死亡日期不能晚于今天",
    ),
    "death before birth": (
        "wj", {"deceased_id_number": id_number("361125", "19800101"), "death_date": "1979-12-31"},
        "死亡日期不能早于身份证号码中的出生日期（1980-01-01）",
    ),
    "卫健 issuing an unnatural-death certificate": (
        "wj", {"kind": "unnatural", "death_circumstance": "unnatural"}, "非正常死亡证明只能由公安机关出具",
    ),
    "公安 issuing a medical death certificate": (
        HF_GA_ISSUER, {"kind": "medical", "death_circumstance": "in_hospital"}, "公安机关只能出具非正常死亡证明",
    ),
    "unnatural kind with a hospital circumstance": (
        HF_GA_ISSUER, {"kind": "unnatural", "death_circumstance": "in_hospital"},
        "非正常死亡证明的死亡情形只能是“未经救治的非正常死亡”",
    ),
    "medical kind with an unnatural circumstance": (
        "wj", {"death_circumstance": "unnatural"}, "由公安机关出具非正常死亡证明，不能开具死亡医学证明",
    ),
    "unknown circumstance": ("wj", {"death_circumstance": "at_sea"}, "不是有效的选择"),
}


@pytest.mark.parametrize("case", list(INVALID), ids=list(INVALID))
def test_an_invalid_certificate_is_refused_in_chinese_and_nothing_is_written(client, ctx, certs, case):
    username, overrides, message = INVALID[case]
    login(client, username)
    form = _form(**overrides)
    before = _count()
    response = client.post("/deathcertificateview/add", data=form)
    assert response.status_code == 200  # the form again, with the issuer's input
    page = response.get_data(as_text=True)
    assert message in page
    assert form["deceased_name"] in page
    assert _count() == before and _count(number=form["number"]) == 0


def test_a_duplicate_number_is_refused_naming_it(client, ctx, certs):
    # 卫健 of 横峰县 cannot see 弋阳县's certificate, but its number is still taken.
    taken = certs["yy_wj"]["number"]
    login(client, "wj")
    before = _count()
    response = client.post("/deathcertificateview/add", data=_form(number=taken))
    assert response.status_code == 200
    assert f"死亡证明编号 {taken} 已经登记，不能重复登记。" in response.get_data(as_text=True)
    assert _count() == before and _count(number=taken) == 1


def test_an_issuer_serving_no_department_is_refused(client, ctx, certs):
    login(client, NO_DEPARTMENT_ISSUER)
    form = _form()
    before = _count()
    page = client.post("/deathcertificateview/add", data=form, follow_redirects=True).get_data(as_text=True)
    assert "您不属于任何部门，不能出具死亡证明。" in page
    assert _count() == before


def test_an_issuer_corrects_their_own_certificate(client, ctx, certs):
    login(client, "wj")
    form = _form(deceased_name="王五")
    client.post("/deathcertificateview/add", data=form)
    cert_id = db.session.query(DeathCertificate.id).filter_by(number=form["number"]).scalar()
    edit = client.get(f"/deathcertificateview/edit/{cert_id}")
    assert edit.status_code == 200 and "王五" in edit.get_data(as_text=True)
    corrected = dict(form, deceased_name="王六")
    assert client.post(f"/deathcertificateview/edit/{cert_id}", data=corrected).status_code == 302
    db.session.expire_all()
    assert db.session.get(DeathCertificate, cert_id).deceased_name == "王六"
    # Taking another certificate's number is refused, and the row stays as it was.
    taken = dict(corrected, number=certs["hf_wj"]["number"], deceased_name="王七")
    response = client.post(f"/deathcertificateview/edit/{cert_id}", data=taken)
    assert response.status_code == 200
    assert f"死亡证明编号 {certs['hf_wj']['number']} 已经登记" in response.get_data(as_text=True)
    db.session.expire_all()
    cert = db.session.get(DeathCertificate, cert_id)
    assert (cert.number, cert.deceased_name) == (form["number"], "王六")


# --- Who sees what --------------------------------------------------------------------------

CERTS = ("hf_wj", "hf_ga", "yy_wj", "yy_ga")
# username → (certificates seen, may edit them)
VISIBLE = {
    "wj": ({"hf_wj"}, True),
    "ga": ({"hf_ga"}, True),  # the demo's 公安 clerk also issues 非正常死亡证明
    HF_GA_ISSUER: ({"hf_ga"}, True),
    YY_WJ_ISSUER: ({"yy_wj"}, True),
    "supervisor": ({"hf_wj", "hf_ga"}, False),
    "sr-supervisor": (set(CERTS), False),
    "admin": (set(CERTS), True),
}
# Roles without the registry: windows, clerks (弋阳县's 公安 clerk included) and managers.
NO_ACCESS = ["window", "rs", "manager", "yy-window", "yy-ga"]


def _listed(page):
    return {int(pk) for pk in re.findall(r"/deathcertificateview/show/(\d+)", page)}


@pytest.mark.parametrize("username", list(VISIBLE))
def test_certificate_screens_show_only_the_users_rows(client, certs, username):
    seen, may_edit = VISIBLE[username]
    login(client, username)
    listing = client.get("/deathcertificateview/list/?psize_DeathCertificateView=100")
    assert listing.status_code == 200
    ids = {certs[key]["id"]: key for key in CERTS}
    assert {ids[i] for i in _listed(listing.get_data(as_text=True)) & set(ids)} == seen
    for key in CERTS:
        visible = key in seen
        cert_id = certs[key]["id"]
        show = client.get(f"/deathcertificateview/show/{cert_id}")
        assert show.status_code == (200 if visible else 404), key
        if visible:
            assert certs[key]["id_number"] in show.get_data(as_text=True)
        edit = client.get(f"/deathcertificateview/edit/{cert_id}")
        if may_edit:
            assert edit.status_code == (200 if visible else 404), key
        else:
            assert edit.status_code in (302, 403), key
        # Nobody deletes a registered proof.
        assert client.post(f"/deathcertificateview/delete/{cert_id}").status_code in (302, 403, 404)
    if not may_edit:
        assert client.get("/deathcertificateview/add").status_code in (302, 403)


@pytest.mark.parametrize("username", list(VISIBLE))
def test_certificate_rest_reads_follow_the_same_rows(client, certs, username):
    seen, _ = VISIBLE[username]
    headers = jwt_headers(client, username)
    listing = client.get("/api/v1/death-certificate/?q=(page_size:100)", headers=headers)
    assert listing.status_code == 200
    ids = {certs[key]["id"]: key for key in CERTS}
    assert {ids[i] for i in set(listing.get_json()["ids"]) & set(ids)} == seen
    for key in CERTS:
        answer = client.get(f"/api/v1/death-certificate/{certs[key]['id']}", headers=headers)
        assert answer.status_code == (200 if key in seen else 404), key
    # No generic writes.
    some = certs["hf_wj"]["id"]
    assert client.put(f"/api/v1/death-certificate/{some}", json={"deceased_name": "x"}, headers=headers).status_code in (404, 405)
    assert client.delete(f"/api/v1/death-certificate/{some}", headers=headers).status_code in (404, 405)


def test_an_issuer_cannot_change_another_departments_certificate(client, ctx, certs):
    login(client, "wj")
    for key in ("hf_ga", "yy_wj"):
        cert_id = certs[key]["id"]
        form = _form(number=certs[key]["number"], deceased_name="篡改")
        assert client.post(f"/deathcertificateview/edit/{cert_id}", data=form).status_code == 404
        db.session.expire_all()
        assert db.session.get(DeathCertificate, cert_id).deceased_name == certs[key]["name"]


def test_a_supervisor_cannot_change_a_certificate(client, ctx, certs):
    login(client, "supervisor")
    cert_id = certs["hf_wj"]["id"]
    form = _form(number=certs["hf_wj"]["number"], deceased_name="篡改")
    assert client.post(f"/deathcertificateview/edit/{cert_id}", data=form).status_code in (302, 403)
    assert client.post("/deathcertificateview/add", data=_form()).status_code in (302, 403)
    db.session.expire_all()
    assert db.session.get(DeathCertificate, cert_id).deceased_name == certs["hf_wj"]["name"]


@pytest.mark.parametrize("username", NO_ACCESS)
def test_users_without_the_registry_get_nothing(client, certs, username):
    login(client, username)
    for url in ("/deathcertificateview/list/", "/deathcertificateview/add",
                f"/deathcertificateview/show/{certs['hf_ga']['id']}", f"/deathcertificateview/edit/{certs['hf_ga']['id']}"):
        assert client.get(url).status_code in (302, 403), url
    assert client.post("/deathcertificateview/add", data=_form()).status_code in (302, 403)
    headers = jwt_headers(client, username)
    assert client.get("/api/v1/death-certificate/", headers=headers).status_code == 403
    assert client.get(f"/api/v1/death-certificate/{certs['hf_ga']['id']}", headers=headers).status_code == 403


def test_a_clerk_gets_403_on_the_lookup(client, certs):
    number = certs["hf_wj"]["number"]
    for username in ("rs", "ga", "wj", "supervisor"):
        headers = jwt_headers(client, username)
        assert client.get(f"/api/v1/death-certificate/lookup?number={number}", headers=headers).status_code == 403
        login(client, username)
        assert client.get(f"/api/v1/death-certificate/lookup?number={number}").status_code in (401, 403)


def test_the_row_rule_refuses_writes_to_another_departments_certificate(app, certs):
    from app.security.scope import AccessDenied, check_writable, scope_for

    with app.app_context():
        wj = db.session.query(DepartmentUser).filter_by(username="wj").one()
        supervisor = db.session.query(DepartmentUser).filter_by(username="supervisor").one()
        check_writable(db.session.get(DeathCertificate, certs["hf_wj"]["id"]), scope_for(wj))
        for key in ("hf_ga", "yy_wj"):
            with pytest.raises(AccessDenied):
                check_writable(db.session.get(DeathCertificate, certs[key]["id"]), scope_for(wj))
        with pytest.raises(AccessDenied):
            check_writable(db.session.get(DeathCertificate, certs["hf_wj"]["id"]), scope_for(supervisor))
        db.session.remove()


# --- The window's lookup --------------------------------------------------------------------


def _lookups():
    return db.session.query(AuditLog).filter_by(action="death_certificate_lookup")


def test_the_window_looks_up_a_certificate_by_number(client, ctx, certs):
    before = _lookups().count()
    headers = jwt_headers(client, "window")
    answer = client.get(f"/api/v1/death-certificate/lookup?number={certs['hf_wj']['number']}", headers=headers)
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["number"] == certs["hf_wj"]["number"]
    assert body["kind"] == "medical"
    assert body["deceased_name"] == "横峰医院逝者"
    assert body["deceased_id_number"] == certs["hf_wj"]["id_number"]
    assert body["death_date"] == (today_cst() - datetime.timedelta(days=2)).isoformat()
    assert body["death_circumstance"] == "in_hospital"
    assert body["department"] == "卫生健康委员会"
    entry = _lookups().order_by(AuditLog.id.desc()).first()
    assert _lookups().count() == before + 1
    assert entry.username == "window" and entry.object_type == "deathcertificate"
    assert entry.object_id == certs["hf_wj"]["id"]
    assert entry.detail["found"] is True and entry.detail["number"] == certs["hf_wj"]["number"]
    # The county's supervisor sees the lookup in the audit log.
    assert entry.region_id == db.session.query(Region.id).filter_by(code="361125").scalar()


def test_the_window_looks_up_by_id_number_from_its_browser_session(client, ctx, certs):
    login(client, "window")
    answer = client.get(f"/api/v1/death-certificate/lookup?id_number={certs['hf_ga']['id_number'].lower()}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["number"], body["kind"], body["death_circumstance"]) == (certs["hf_ga"]["number"], "unnatural", "unnatural")
    assert body["department"] == "公安局"


def test_number_and_id_number_together_must_both_match(client, certs):
    headers = jwt_headers(client, "window")
    url = "/api/v1/death-certificate/lookup?number={}&id_number={}"
    hf_wj, hf_ga = certs["hf_wj"], certs["hf_ga"]
    assert client.get(url.format(hf_wj["number"], hf_wj["id_number"]), headers=headers).status_code == 200
    assert client.get(url.format(hf_wj["number"], hf_ga["id_number"]), headers=headers).status_code == 404


def test_another_countys_certificate_is_not_found(client, ctx, certs):
    headers = jwt_headers(client, "window")
    before = _lookups().count()
    for key in ("yy_wj", "yy_ga"):
        by_number = client.get(f"/api/v1/death-certificate/lookup?number={certs[key]['number']}", headers=headers)
        assert by_number.status_code == 404
        assert "本县死亡证明登记中没有" in by_number.get_json()["message"]
        by_id = client.get(f"/api/v1/death-certificate/lookup?id_number={certs[key]['id_number']}", headers=headers)
        assert by_id.status_code == 404
    # Misses are audited too: someone asked about a person.
    misses = _lookups().order_by(AuditLog.id.desc()).limit(4).all()
    assert _lookups().count() == before + 4
    assert all(entry.detail["found"] is False and entry.object_id is None for entry in misses)


def test_the_other_countys_window_finds_only_its_own(client, certs):
    headers = jwt_headers(client, "yy-window")
    lookup = "/api/v1/death-certificate/lookup"
    for key in ("hf_wj", "hf_ga"):
        assert client.get(f"{lookup}?number={certs[key]['number']}", headers=headers).status_code == 404
        assert client.get(f"{lookup}?id_number={certs[key]['id_number']}", headers=headers).status_code == 404
    answer = client.get(f"/api/v1/death-certificate/lookup?number={certs['yy_wj']['number']}", headers=headers)
    assert answer.status_code == 200 and answer.get_json()["deceased_name"] == "弋阳医院逝者"


def test_a_lookup_needs_a_number_or_an_id_number(client, certs):
    headers = jwt_headers(client, "window")
    answer = client.get("/api/v1/death-certificate/lookup", headers=headers)
    assert answer.status_code == 400
    assert "请提供死亡证明编号或身份证号码" in answer.get_json()["message"]


def test_a_lookup_needs_a_signed_in_user(client, certs):
    client.get("/logout/")
    assert client.get(f"/api/v1/death-certificate/lookup?number={certs['hf_wj']['number']}").status_code == 401


# --- The domain -----------------------------------------------------------------------------


def test_find_certificate_searches_one_county(ctx, certs):
    hf = db.session.query(Region).filter_by(code="361125").one()
    yy = db.session.query(Region).filter_by(code="361126").one()
    assert find_certificate(db.session, hf, number=certs["hf_wj"]["number"]).id == certs["hf_wj"]["id"]
    assert find_certificate(db.session, hf, id_number=certs["hf_ga"]["id_number"]).id == certs["hf_ga"]["id"]
    assert find_certificate(db.session, yy, number=certs["hf_wj"]["number"]) is None
    assert find_certificate(db.session, hf, number=" " + certs["hf_wj"]["number"] + " ").id == certs["hf_wj"]["id"]
    assert find_certificate(db.session, hf) is None


def test_differences_report_another_name_and_another_date(ctx, certs):
    cert = db.session.get(DeathCertificate, certs["hf_wj"]["id"])
    assert differences(cert, cert.deceased_name, cert.deceased_id_number, cert.death_date, cert.death_circumstance) == []
    other_day = cert.death_date - datetime.timedelta(days=1)
    found = differences(cert, "横峰另一人", cert.deceased_id_number.lower(), other_day, "in_hospital")
    assert found == [
        ("deceased_name", cert.deceased_name, "横峰另一人"),
        ("death_date", cert.death_date, other_day),
    ]
    assert differences(cert, None, None, other_day.isoformat(), "en_route") == [
        ("death_date", cert.death_date, other_day.isoformat()),
        ("death_circumstance", "in_hospital", "en_route"),
    ]


# --- Who issues which kind -------------------------------------------------------------------

RS_ISSUER, HOSPITAL_ISSUER, STATION_ISSUER = "t-reg-rs", "t-reg-hospital", "t-reg-station"


@pytest.fixture(scope="module")
def issuers(app, certs):
    """An issuer serving 人社 (not an issuing department), one of a hospital under 卫健 and
    one of a 派出所 under 公安, in 横峰县."""
    with app.app_context():
        role = app.appbuilder.sm.find_role("CertIssuer")
        county = db.session.query(Region).filter_by(code="361125").one()
        units = {}
        for code, name, parent in (("T-HOSP", "县人民医院", "WJ"), ("T-PCS", "城区派出所", "GA")):
            unit = db.session.query(Department).filter_by(region_id=county.id, code=code).first()
            if unit is None:
                unit = Department(code=code, name=name, region=county, parent=_department("361125", parent))
                db.session.add(unit)
            units[code] = unit
        _add_user(RS_ISSUER, role, [_department("361125", "RS")])
        _add_user(HOSPITAL_ISSUER, role, [units["T-HOSP"]])
        _add_user(STATION_ISSUER, role, [units["T-PCS"]])
        db.session.commit()
        db.session.remove()


@pytest.mark.parametrize("kind, circumstance", [("medical", "in_hospital"), ("unnatural", "unnatural")])
def test_a_department_that_is_neither_health_nor_police_issues_nothing(client, ctx, issuers, kind, circumstance):
    login(client, RS_ISSUER)
    form = _form(kind=kind, death_circumstance=circumstance)
    response = client.post("/deathcertificateview/add", data=form)
    assert response.status_code == 200
    assert ("人力资源和社会保障局不是死亡证明开具单位：死亡医学证明由卫健部门的医疗卫生机构开具，非正常死亡证明由公安机关开具。"
            in response.get_data(as_text=True))
    assert _count(number=form["number"]) == 0


@pytest.mark.parametrize("username, kind, circumstance, refused_kind, refused_circumstance", [
    (HOSPITAL_ISSUER, "medical", "in_hospital", "unnatural", "unnatural"),
    (STATION_ISSUER, "unnatural", "unnatural", "medical", "in_hospital"),
])
def test_a_unit_issues_the_kind_of_the_department_it_belongs_to(client, ctx, issuers, username, kind, circumstance,
                                                                 refused_kind, refused_circumstance):
    login(client, username)
    page = client.get("/deathcertificateview/add").get_data(as_text=True)
    assert re.search(rf'<option selected value="{kind}"|<option value="{kind}" selected', page)
    good = _form(kind=kind, death_circumstance=circumstance)
    assert client.post("/deathcertificateview/add", data=good).status_code == 302
    assert db.session.query(DeathCertificate).filter_by(number=good["number"]).one().kind == kind
    bad = _form(kind=refused_kind, death_circumstance=refused_circumstance)
    assert client.post("/deathcertificateview/add", data=bad).status_code == 200
    assert _count(number=bad["number"]) == 0


def test_the_demos_police_clerk_registers_an_unnatural_death_certificate(client, ctx, certs):
    login(client, "ga")
    form = _form(kind="unnatural", death_circumstance="unnatural", deceased_id_number=id_number("361125", "19710606"))
    assert client.post("/deathcertificateview/add", data=form).status_code == 302
    cert = db.session.query(DeathCertificate).filter_by(number=form["number"]).one()
    assert (cert.department.code, cert.kind, cert.issued_by_id) == (
        "GA", "unnatural", db.session.query(DepartmentUser.id).filter_by(username="ga").scalar())


def test_which_department_issues_is_data_the_admin_sets(client, ctx, issuers):
    from app.domain.registry import kind_for

    rs = _department("361125", "RS")
    assert kind_for(rs) is None and kind_for(_department("361125", "WJ")) == "medical"
    assert kind_for(_department("361125", "GA")) == "unnatural"
    login(client, "admin")
    form = {"region": str(rs.region_id), "code": "RS", "name": rs.name, "parent": "", "active": "y",
            "certificate_kind": "medical", "notify_email": "", "webhook_url": "", "webhook_secret": ""}
    assert client.post(f"/departmentview/edit/{rs.id}", data=form).status_code == 302
    try:
        db.session.expire_all()
        assert kind_for(_department("361125", "RS")) == "medical"
        login(client, RS_ISSUER)
        cert = _form()
        assert client.post("/deathcertificateview/add", data=cert).status_code == 302
    finally:
        db.session.expire_all()
        _department("361125", "RS").certificate_kind = None
        db.session.commit()
