"""Time ``POST /api/v1/case/`` as the window's own system calls it, on PostgreSQL with
at least 100,000 cases already present (issue 3's benchmark; target: p95 under 50 ms).

    export DATABASE_URL=postgresql://postgres@127.0.0.1:5432/bench FLASK_APP=app:create_app
    .venv/bin/flask db upgrade && .venv/bin/flask seed all && .venv/bin/flask seed synthetic --cases 100000
    .venv/bin/python benchmarks/register_case.py --cases 200

Registers exactly N new cases (fresh deceased ID numbers, none with an open case) through
Flask's test client (in process: server time, no network), each answered 201, and prints
the median and 95th percentile in milliseconds against the target. One refused request
(422, it writes nothing) warms the process up first and is not counted.

Refuses another database or fewer cases, since its figures would say nothing about the
target; ``--smoke`` runs anyway (to try the script on a small database) and says loudly
that the figures are not the benchmark's.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app  # noqa: E402
from app.domain.clock import today_cst  # noqa: E402
from app.domain.identity import make_id_number  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case, Task  # noqa: E402
from app.models.case import CASE_IN_PROGRESS, CASE_REGISTERED  # noqa: E402

TARGET_MS = 50
MIN_CASES = 100_000
FACTS = ["pension_enterprise", "medical_employee", "disability_certificate"]


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def fresh_id_numbers(n, rng):
    """N deceased ID numbers of 横峰县 that no open case holds (an open case would answer 409)."""
    numbers = set()
    while len(numbers) < n:
        wanted = n - len(numbers)
        candidates = {
            make_id_number("361125", datetime.date(1925, 1, 1) + datetime.timedelta(days=rng.randrange(0, 25000)),
                           rng.randrange(1000))
            for _ in range(wanted * 2)
        } - numbers
        taken = {number for (number,) in db.session.query(Case.deceased_id_number).filter(
            Case.deceased_id_number.in_(candidates), Case.status.in_((CASE_REGISTERED, CASE_IN_PROGRESS)))}
        numbers |= set(sorted(candidates - taken)[:wanted])
    return sorted(numbers)


def body(id_number, death_date):
    return {
        "region_code": "361125",
        "deceased": {"name": "基准测试", "id_number": id_number, "hukou_local": True,
                     "death_date": death_date.isoformat(), "death_circumstance": "in_hospital"},
        "facts": FACTS,
        "applicant": {"name": "家属", "id_number": make_id_number("361125", datetime.date(1980, 1, 1), 11),
                      "phone": "13800138000", "relationship": "子女"},
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases to register and time (default 200)")
    parser.add_argument("--user", default="window")
    parser.add_argument("--password", default=os.environ.get("DEMO_PASSWORD", "hengfeng-demo"))
    parser.add_argument("--smoke", action="store_true",
                        help="run on any database (the figures are then not the benchmark's)")
    args = parser.parse_args()

    app = create_app()
    rng = random.Random(int(time.time()))
    with app.app_context():
        dialect = db.engine.dialect.name
        present = db.session.query(Case).count()
        print(f"{db.engine.url.render_as_string(hide_password=True)}: {present} cases, "
              f"{db.session.query(Task).count()} tasks")
        valid = dialect == "postgresql" and present >= MIN_CASES
        if not valid:
            problem = (f"this is {dialect} with {present} cases; the benchmark needs PostgreSQL with at least "
                       f"{MIN_CASES:,} cases")
            if not args.smoke:
                raise SystemExit(f"Refused: {problem} (fill it as the docstring says, or pass --smoke).")
            print("!" * 78)
            print(f"!!! SMOKE RUN, NOT THE BENCHMARK: {problem}.")
            print("!" * 78)
        numbers = fresh_id_numbers(args.cases, rng)
        db.session.remove()
    death_date = today_cst() - datetime.timedelta(days=1)

    client = app.test_client()
    login = client.post("/api/v1/security/login", json={
        "username": args.user, "password": args.password, "provider": "db"})
    if login.status_code != 200:
        raise SystemExit(f"Login of {args.user} failed: {login.get_json()}")
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    warm_up = client.post("/api/v1/case/", json=body("361125000000000000", death_date), headers=headers)
    assert warm_up.status_code == 422, warm_up.get_json()  # refused: nothing written

    times = []
    for number in numbers:
        started = time.perf_counter()
        answer = client.post("/api/v1/case/", json=body(number, death_date), headers=headers)
        elapsed = (time.perf_counter() - started) * 1000
        if answer.status_code != 201:
            raise SystemExit(f"Case {len(times) + 1} of {args.cases} answered {answer.status_code}: {answer.get_json()}")
        times.append(elapsed)

    p95 = percentile(times, 95)
    print(f"POST /api/v1/case/  n={len(times)}  median {statistics.median(times):.1f} ms  "
          f"p95 {p95:.1f} ms  max {max(times):.1f} ms")
    verdict = "within" if p95 < TARGET_MS else "OVER"
    print(f"{verdict} the {TARGET_MS} ms p95 target" + ("" if valid else "  (SMOKE RUN: not the benchmark's figure)"))


if __name__ == "__main__":
    main()
