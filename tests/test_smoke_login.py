from tests.conftest import jwt_headers, login


def test_login_page_is_chinese(client):
    page = client.get("/login/").get_data(as_text=True)
    assert "用户名" in page and "密码" in page


def test_demo_window_can_sign_in_and_see_cases(client):
    login(client, "window")
    assert client.get("/caseview/list/").status_code == 200


def test_jwt_login_works_for_the_api(client):
    headers = jwt_headers(client, "rs")
    assert client.get("/api/v1/task/", headers=headers).status_code == 200


def test_the_api_describes_itself_without_a_cdn(client):
    headers = jwt_headers(client, "rs")
    spec = client.get("/api/v1/_openapi", headers=headers)
    assert spec.status_code == 200 and "/api/v1/task/" in spec.get_json()["paths"]
    login(client, "rs")
    page = client.get("/swagger/v1").get_data(as_text=True)
    assert "swagger-ui-bundle.js" in page and "https://" not in page.split("<body")[0]


def test_task_rows_are_flat_as_the_contract_says(client, app):
    from tests.factories import make_case

    with app.app_context():
        make_case("window", ["disability_certificate"], name="接口")
        from app.extensions import db

        db.session.remove()
    headers = jwt_headers(client, "cl")
    body = client.get("/api/v1/task/?q=(order_column:id,order_direction:desc)", headers=headers).get_json()
    row = body["result"][0]
    assert set(row) >= {"id", "case_no", "item_code", "department_code", "status", "deadline"}
    assert row["item_code"] == "CL01" and row["department_code"] == "CL" and row["case_no"].startswith("361125-")
    one = client.get(f"/api/v1/task/{row['id']}", headers=headers).get_json()["result"]
    assert one["item_code"] == "CL01" and one["case_no"] == row["case_no"]
