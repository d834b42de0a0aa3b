"""Time the 联办登记表 PDF against an existing database.

Uses the normal configuration (``DATABASE_URL`` / ``INSTANCE_DIR``); seed it first, e.g.::

    export INSTANCE_DIR=/tmp/pdfbench FLASK_APP=app:create_app
    .venv/bin/flask db upgrade && .venv/bin/flask seed all
    .venv/bin/python benchmarks/registration_form.py

Renders the form of one case (``--case-no``, else the newest case, else a new case of
an enterprise retiree registered by the demo ``window`` clerk) ``--runs`` times in an
app context (each loading the case's tasks, items and materials afresh, as a request
does) and prints the first render (which parses the font) and the median and
95th percentile of the others, in milliseconds. The target is under 300 ms after the first.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from app import create_app, pdf  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Case  # noqa: E402

TARGET_MS = 300


def percentile(values, p):
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def find_case(case_no):
    if case_no:
        case = db.session.query(Case).filter_by(case_no=case_no).one_or_none()
        if case is None:
            raise SystemExit(f"No case {case_no}.")
        return case
    case = db.session.query(Case).order_by(Case.id.desc()).first()
    if case is not None:
        return case
    from tests.factories import make_case

    return make_case("window", facts=["pension_enterprise", "medical_employee", "disability_certificate"],
                     name="王建国")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--case-no", help="the case to print (default: the newest)")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        case = find_case(args.case_no)
        times, cpu_times = [], []
        for _ in range(args.runs):
            db.session.expire_all()  # load the case's tasks and materials afresh, as a request does
            started, cpu_started = time.perf_counter(), time.process_time()
            content = pdf.registration_form(case)
            times.append((time.perf_counter() - started) * 1000)
            cpu_times.append((time.process_time() - cpu_started) * 1000)
        rest = times[1:] or times
        print(f"{case.case_no}: {len(case.tasks)} tasks, {len(content) / 1024:.0f} KiB, {args.runs} renders")
        print(f"first render {times[0]:8.1f} ms")
        print(f"then median  {statistics.median(rest):8.1f} ms   p95 {percentile(rest, 95):8.1f} ms   (n={len(rest)})")
        # CPU time is what the render costs when other processes share the machine.
        print(f"CPU median   {statistics.median(cpu_times[1:] or cpu_times):8.1f} ms")
        verdict = "within" if percentile(rest, 95) < TARGET_MS else "OVER"
        print(f"{verdict} the {TARGET_MS} ms target after the first render")
        db.session.remove()


if __name__ == "__main__":
    main()
