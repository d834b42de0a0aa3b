"""A whole case through the integration API alone, as the departments' own systems
would drive it: JWT login, register, materials, what a task needs of its case and the
files of it (downloaded, recorded), transitions, the PDFs."""

import hashlib
import io
import re

from app.extensions import db
from app.models import AuditLog
from tests.conftest import jwt_headers
from tests.test_intake import _male_id, payload

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_whole_case_through_the_api(client):
    window = jwt_headers(client, "window")
    body = payload(**{"deceased.id_number": _male_id(birth="19360606"), "facts": ["pension_resident", "institution_staff"]})
    case = client.post("/api/v1/case/", json=body, headers=window).get_json()
    case_id, case_no = case["id"], case["case_no"]
    assert {t["item_code"] for t in case["tasks"]} == {"MZ01", "GA01", "RS03", "CZ01"}

    stored = {}
    for code in ("DECEASED_ID", "HUKOU_BOOK", "DEATH_PROOF", "APPLICANT_ID", "BANK_OR_SSC_CARD"):
        answer = client.post(f"/api/v1/case/{case_id}/materials", headers=window,
                             data={"material_code": code, "original_checked": "true",
                                   "file": (io.BytesIO(PDF), f"{code}.pdf")},
                             content_type="multipart/form-data")
        assert answer.status_code == 201
        stored[code] = answer.get_json()["id"]
    assert client.get(f"/api/v1/case/{case_id}/registration-form", headers=window).mimetype == "application/pdf"

    def task(headers, item_code):
        rows = client.get("/api/v1/task/?q=(order_column:id,order_direction:desc,page_size:100)",
                          headers=headers).get_json()["result"]
        return next(r for r in rows if r["case_no"] == case_no and r["item_code"] == item_code)

    def move(headers, item_code, **action):
        row = task(headers, item_code)
        answer = client.post(f"/api/v1/task/{row['id']}/transition", headers=headers,
                             json=dict(action, version=row["version"]))
        assert answer.status_code == 200, answer.get_json()
        return answer.get_json()

    move(window, "MZ01", action="complete", note="已火化")
    ga, rs, cz = jwt_headers(client, "ga"), jwt_headers(client, "rs"), jwt_headers(client, "cz")
    assert task(ga, "GA01")["status"] == "ready" and task(rs, "RS03")["deadline"]

    # The case with its tasks: the window sees all four, 人社 only its own.
    whole = client.get(f"/api/v1/case/{case_id}", headers=window).get_json()["result"]
    assert {t["item_code"] for t in whole["tasks"]} == {"MZ01", "GA01", "RS03", "CZ01"}
    assert all(set(t) == {"id", "item_code", "department_code", "status", "deadline", "version"} for t in whole["tasks"])
    assert [t["item_code"] for t in client.get(f"/api/v1/case/{case_id}", headers=rs).get_json()["result"]["tasks"]] \
        == ["RS03"]

    # 人社's system reads what RS03 needs, as the task page shows it, and fetches the files.
    detail = client.get(f"/api/v1/task/{task(rs, 'RS03')['id']}", headers=rs).get_json()["result"]
    assert detail["case_no"] == case_no and detail["deceased"]["name"] == body["deceased"]["name"]
    assert detail["deceased"]["id_number"] == body["deceased"]["id_number"]  # RS03 needs the ID card
    assert detail["deceased"]["death_date"] == body["deceased"]["death_date"]
    assert [f["code"] for f in detail["facts"]] == ["pension_resident"]
    needs = {(m["code"], m["form"]): m for m in detail["materials"]}
    assert set(needs) == {("DECEASED_ID", "scan"), ("DEATH_PROOF", "scan"), ("CREMATION_CERT", "scan"),
                          ("BANK_OR_SSC_CARD", "scan")}
    assert all(m["present"] for m in needs.values())
    proof = needs[("DEATH_PROOF", "scan")]["files"]
    assert [f["id"] for f in proof] == [stored["DEATH_PROOF"]]
    assert proof[0]["sha256"] == hashlib.sha256(PDF).hexdigest() and proof[0]["uploaded_at"]
    downloaded = client.get(proof[0]["download_url"], headers=rs)
    assert downloaded.status_code == 200 and downloaded.data == PDF
    assert hashlib.sha256(downloaded.data).hexdigest() == proof[0]["sha256"]
    cremation = needs[("CREMATION_CERT", "scan")]["files"]
    assert len(cremation) == 1 and client.get(cremation[0]["download_url"], headers=rs).data.startswith(b"%PDF")
    # …but not the household register, which no item of 人社 asks for; 公安 may.
    assert client.get(f"/api/v1/case-material/{stored['HUKOU_BOOK']}", headers=rs).status_code == 404
    assert client.get(f"/api/v1/case-material/{stored['HUKOU_BOOK']}", headers=ga).data == PDF
    # GA01 asks for the death proof's original only: checked at the window, no file to fetch.
    ga01 = client.get(f"/api/v1/task/{task(ga, 'GA01')['id']}", headers=ga).get_json()["result"]
    assert {(m["code"], m["form"]): bool(m["files"]) for m in ga01["materials"]}[("DEATH_PROOF", "original")] is False
    assert client.get(f"/api/v1/case-material/{stored['DEATH_PROOF']}", headers=ga).status_code == 404
    with client.application.app_context():
        fetched = db.session.query(AuditLog).filter_by(action="material_downloaded", case_id=case_id).all()
        assert sorted((e.username, e.detail["material"]) for e in fetched) == [
            ("ga", "HUKOU_BOOK"), ("rs", "CREMATION_CERT"), ("rs", "DEATH_PROOF")]
        assert all(e.detail["sha256"] and e.object_type == "casematerial" for e in fetched)
        db.session.remove()
    move(ga, "GA01", action="accept")
    move(ga, "GA01", action="complete", note="已注销户口")
    move(rs, "RS03", action="request_supplement", note="社保卡信息不清", materials=["BANK_OR_SSC_CARD"])
    assert task(rs, "RS03")["status"] == "supplement_requested"
    client.post(f"/api/v1/case/{case_id}/materials", headers=window,
                data={"material_code": "BANK_OR_SSC_CARD", "file": (io.BytesIO(PDF), "card.pdf")},
                content_type="multipart/form-data")
    assert task(rs, "RS03")["status"] == "ready"
    done = move(rs, "RS03", action="complete", note="已支付", amount="5200.00")
    assert done["payout_amount"] == "5200.00" and done["payout_expected_date"]
    move(cz, "CZ01", action="reject", reason="单位已自行发放")

    assert client.get(f"/api/v1/case/{case_id}", headers=window).get_json()["result"]["status"] == "completed"
    notice = client.get(f"/api/v1/case/{case_id}/completion-notice", headers=window)
    assert notice.status_code == 200 and notice.data.startswith(b"%PDF")
    # The other county's clerk sees none of it.
    yy = jwt_headers(client, "yy-ga")
    assert client.get(f"/api/v1/case/{case_id}", headers=yy).status_code == 404
    assert all(r["case_no"] != case_no for r in client.get("/api/v1/task/", headers=yy).get_json()["result"])


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_served_api_description_is_well_formed(client):
    """What OpenAPI 3 requires of every operation (its responses, its path parameters)
    and every reference resolving, so that /swagger/v1 renders each endpoint."""
    spec = client.get("/api/v1/_openapi", headers=jwt_headers(client, "window")).get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/case-material/{pk}" in spec["paths"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("responses"), (method, path)
            parameters = operations.get("parameters", []) + operation.get("parameters", [])
            declared = {p["name"] for p in parameters if p.get("in") == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)
    for ref in set(_refs(spec)):
        node = spec
        for part in ref.removeprefix("#/").split("/"):
            assert part in node, ref
            node = node[part]

