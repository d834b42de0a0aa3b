"""Time ``POST /api/v1/case/`` against an existing database (fill it first with
``flask seed synthetic``), as the window's own system would call it.

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench FLASK_APP=app:create_app
    .venv/bin/flask db upgrade && .venv/bin/flask seed all && .venv/bin/flask seed synthetic --cases 100000
    .venv/bin/python benchmarks/register_case.py --cases 200

Registers N new cases through Flask's test client (in process: server time, no
network) and prints the median and 95th percentile in milliseconds.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from app.domain.identity import make_id_number  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case, Task  # noqa: E402


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--user", default="window")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "hengfeng-demo"))
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        print(f"{db.engine.url.render_as_string(hide_password=True)}: {db.session.query(Case).count()} cases, "
              f"{db.session.query(Task).count()} tasks")
        db.session.remove()
    client = app.test_client()
    token = client.post("/api/v1/security/login", json={
        "username": args.user, "password": args.password, "provider": "db"}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    import datetime
    import random

    rng = random.Random(int(time.time()))
    times = []
    for n in range(args.cases + 1):
        birth = datetime.date(1930, 1, 1) + datetime.timedelta(days=rng.randrange(0, 20000))
        body = {
            "region_code": "361125",
            "deceased": {"name": "基准测试", "id_number": make_id_number("361125", birth, rng.randrange(1000)),
                         "hukou_local": True, "death_date": "2026-11-30", "death_circumstance": "in_hospital"},
            "facts": ["pension_enterprise", "medical_employee", "disability_certificate"],
            "applicant": {"name": "家属", "id_number": make_id_number("361125", datetime.date(1980, 1, 1), 11),
                          "phone": "13800138000", "relationship": "子女"},
        }
        started = time.perf_counter()
        answer = client.post("/api/v1/case/", json=body, headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code == 409:
            continue  # a random number that already has an open case
        assert answer.status_code == 201, answer.get_json()
        if n:  # the first request warms up
            times.append(elapsed)
    print(f"POST /api/v1/case/  n={len(times)}  median {statistics.median(times):.1f} ms  "
          f"p95 {percentile(times, 95):.1f} ms  max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
