"""The managers' reports as files: the statistics report and the overdue supervision
list (超时督办清单) as A4 PDFs (templates in ``reports/``, the embedded Chinese font of
``app.pdf``) and as CSV for Excel (UTF-8 with a byte-order mark, so that Excel opens
Chinese text correctly).

Each renderer is a pure function of the plain data that ``app.domain.statistics``
computes, so a caller may compute once and render several formats, or run the whole
thing in a background task: ``statistics_report`` and ``overdue_report`` do the query
and the rendering in one call, with a ``progress(done, total)`` callback.
"""

import csv
import io

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from pypdf import PdfReader, PdfWriter

from app.domain.labels import STATUS_LABELS
from app.domain.statistics import Change, compute_statistics, overdue_list
from app.pdf import chinese_date, render_pdf

# The overdue list's detail is rendered in parts of about this many rows (some 0.6 s
# each), so that the progress of a long list moves while it renders. A part starts a
# new page; parts end at a department's end when they can.
OVERDUE_PART_ROWS = 120

FORMATS = ("pdf", "csv")
CSV_MIMETYPE = "text/csv; charset=utf-8"
BOM = "\ufeff"

# The PDF is a Chinese government document whatever the screen's language.
PDF_STATUS = {"ready": "待受理", "accepted": "办理中"}


def percent(value, digits=1):
    """0.9264 → 92.6%; an em dash for none."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def number(value):
    return "—" if value is None else str(value)


def days_text(value):
    """Average working days with one decimal."""
    return "—" if value is None else f"{value:.1f}"


def signed(value, digits=0):
    if value is None:
        return "—"
    if abs(value) < 0.5 * 10 ** -digits:
        return "0" if not digits else f"{0:.{digits}f}"
    return f"{value:+.{digits}f}".replace("-", "−")


def count_change(change):
    """+211（+8.1%）: the difference and its share of the previous value."""
    if change.difference is None:
        return "—"
    text = signed(change.difference, 0 if float(change.difference).is_integer() else 1)
    return f"{text}（{signed(change.ratio * 100, 1)}%）" if change.ratio is not None else text


def points_change(change):
    """+1.2个百分点: a rate's change in percentage points."""
    return "—" if change.difference is None else f"{signed(change.difference * 100, 1)}个百分点"


def chinese_datetime(value):
    return f"{chinese_date(value)} {value:%H:%M}"


def period_text(period):
    return f"{chinese_date(period.start)}至{chinese_date(period.end)}"


def _figure_cells(figures):
    return {
        "received": figures.received,
        "completed": figures.completed,
        "on_time": figures.on_time,
        "on_time_rate": percent(figures.on_time_rate),
        "overdue_now": figures.overdue_now,
        "rejected": figures.rejected,
        "average_days": days_text(figures.average_days),
        "longest_days": number(figures.longest_days),
    }


def ratio_change(change):
    """+8.1%: the change as a share of the previous value."""
    return "—" if change.ratio is None else f"{signed(change.ratio * 100, 1)}%"


def _change_cells(current, previous, changes, compact=False):
    """This period, the previous one and the change, for received, completed, the
    on-time rate and the average days; ``compact`` for the narrow columns of the
    departments' table (the change of a count as a percentage, of a rate in points)."""
    if compact:
        counts = ratio_change
        points = lambda change: "—" if change.difference is None else signed(change.difference * 100, 1)  # noqa: E731
    else:
        counts, points = count_change, points_change
    days = changes["average_days"].difference
    return {
        "received": (current.received, previous.received, counts(changes["received"])),
        "completed": (current.completed, previous.completed, counts(changes["completed"])),
        "on_time_rate": (percent(current.on_time_rate), percent(previous.on_time_rate),
                         points(changes["on_time_rate"])),
        "average_days": (days_text(current.average_days), days_text(previous.average_days), signed(days, 1)),
    }


def statistics_context(stats):
    """What the statistics report shows, as strings and numbers."""
    rows = []
    for dept in stats.departments:
        rows.append({"kind": "department", "label": dept.department.label, **_figure_cells(dept.figures)})
        for item in dept.items:
            rows.append({"kind": "item", "label": f"{item.item.code} {item.item.name}", **_figure_cells(item.figures)})
    chart = [
        {
            "label": dept.department.label,
            "rate": dept.figures.on_time_rate,
            "width": round(dept.figures.on_time_rate * 100) if dept.figures.on_time_rate is not None else None,
            "text": percent(dept.figures.on_time_rate),
            "completed": dept.figures.completed,
        }
        for dept in stats.departments
    ]
    return {
        "region": stats.region.name,
        "period": period_text(stats.period),
        "period_days": stats.period.days,
        "previous_period": period_text(stats.previous_period),
        "as_of": chinese_date(stats.as_of),
        "generated_at": chinese_datetime(stats.generated_at),
        "summary": {
            "cases": (stats.cases_received, stats.previous_cases_received,
                      count_change(Change(stats.cases_received, stats.previous_cases_received))),
            **_change_cells(stats.totals, stats.previous_totals, stats.changes()),
        },
        "rows": rows,
        "total": _figure_cells(stats.totals),
        "chart": chart,
        "changes": [
            {"label": dept.department.label, **_change_cells(dept.figures, dept.previous, dept.changes(), True)}
            for dept in stats.departments
        ],
        "total_changes": _change_cells(stats.totals, stats.previous_totals, stats.changes(), True),
    }


def render_statistics_pdf(stats):
    """The statistics report of ``compute_statistics``'s result, as A4 PDF bytes."""
    return render_pdf("statistics.html", **statistics_context(stats))


def overdue_context(overdue):
    rows = [
        {
            "department": row.department.label,
            "case_no": row.case_no,
            "item": f"{row.item.code} {row.item.name}",
            "status": PDF_STATUS.get(row.status, row.status),
            "ready_on": chinese_date(row.ready_on),
            "deadline": chinese_date(row.deadline),
            "days_over": row.days_over,
            "urgings": row.urgings,
            "last_urged_on": chinese_date(row.last_urged_on),
        }
        for row in overdue.rows
    ]
    by_department = overdue.by_department()
    departments = [
        {
            "label": dept.label,
            "count": len(dept_rows),
            "longest": max(r.days_over for r in dept_rows),
            "urged": sum(1 for r in dept_rows if r.urgings),
            "rows": rows[start:start + len(dept_rows)],
        }
        for (dept, dept_rows), start in zip(
            by_department, _starts(len(r) for _d, r in by_department), strict=True)
    ]
    return {
        "region": overdue.region.name,
        "as_of": chinese_date(overdue.as_of),
        "generated_at": chinese_datetime(overdue.generated_at),
        "rows": rows,
        "departments": departments,
        "urged": sum(1 for r in overdue.rows if r.urgings),
    }


def _starts(lengths):
    """0, then the running sums: where each group starts in the flat list."""
    starts, total = [], 0
    for length in lengths:
        starts.append(total)
        total += length
    return starts


def overdue_parts(departments, part_rows):
    """The detail's departments cut into parts of about ``part_rows`` rows: whole
    departments while they fit, a long department in pieces of ``part_rows``. Each
    piece says where its rows start in its department (``offset``), for the numbers."""
    parts, current, count = [], [], 0
    for number, dept in enumerate(departments, 1):
        for offset in range(0, len(dept["rows"]), part_rows):
            rows = dept["rows"][offset:offset + part_rows]
            if current and count + len(rows) > part_rows:
                parts.append(current)
                current, count = [], 0
            current.append({"number": number, "label": dept["label"], "count": dept["count"],
                            "offset": offset, "rows": rows})
            count += len(rows)
    parts.append(current)
    return parts


def render_overdue_pdf(overdue, progress=None, part_rows=None):
    """The 超时督办清单 of ``overdue_list``'s result, as A4 PDF bytes, rendered part by
    part (``progress(parts done, parts)`` after each) and joined, the page numbers
    running on from part to part."""
    context = overdue_context(overdue)
    parts = overdue_parts(context["departments"], part_rows or OVERDUE_PART_ROWS)
    writer, pages = PdfWriter(), 0
    for index, departments in enumerate(parts):
        part = {"first": index == 0, "last": index == len(parts) - 1, "first_page": pages + 1,
                "departments": departments}
        content = render_pdf("overdue_list.html", part=part, **context)
        if len(parts) == 1:
            writer = None
            break
        reader = PdfReader(io.BytesIO(content))
        if index == 0:
            writer.add_metadata({key: str(value) for key, value in (reader.metadata or {}).items()})
        writer.append(reader)
        pages += len(reader.pages)
        if progress is not None:
            progress(index + 1, len(parts))
    if writer is None:
        if progress is not None:
            progress(1, 1)
        return content
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _csv_bytes(header, rows):
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([str(h) for h in header])
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


STATISTICS_COLUMNS = (
    _l("Department"), _l("Item code"), _l("Item"), _l("Received"), _l("Completed"), _l("Completed on time"),
    _l("On-time rate"), _l("Overdue now"), _l("Rejected"), _l("Average working days"),
    _l("Longest working days"), _l("Received, previous period"), _l("Completed, previous period"),
    _l("On-time rate, previous period"), _l("Average working days, previous period"),
)


def _csv_figures(figures, previous):
    return [
        figures.received, figures.completed, figures.on_time, percent(figures.on_time_rate, 1).replace("—", ""),
        figures.overdue_now, figures.rejected, "" if figures.average_days is None else figures.average_days,
        "" if figures.longest_days is None else figures.longest_days, previous.received, previous.completed,
        percent(previous.on_time_rate, 1).replace("—", ""),
        "" if previous.average_days is None else previous.average_days,
    ]


def statistics_csv(stats):
    """The statistics table for Excel: a row per item, a subtotal per department, the
    total; the previous period's figures alongside."""
    rows = []
    for dept in stats.departments:
        for item in dept.items:
            rows.append([dept.department.label, item.item.code, item.item.name,
                         *_csv_figures(item.figures, item.previous)])
        rows.append([dept.department.label, "", gettext("Subtotal"), *_csv_figures(dept.figures, dept.previous)])
    rows.append([stats.region.name, "", gettext("Total"), *_csv_figures(stats.totals, stats.previous_totals)])
    return _csv_bytes(STATISTICS_COLUMNS, rows)


OVERDUE_COLUMNS = (
    _l("Department"), _l("Case number"), _l("Item code"), _l("Item"), _l("Status"), _l("Ready since"),
    _l("Deadline"), _l("Working days over"), _l("Urgings"), _l("Last urged on"),
)


def overdue_csv(overdue):
    """The overdue supervision list for Excel, one row per task (ISO dates)."""
    rows = [
        [row.department.label, row.case_no, row.item.code, row.item.name, str(STATUS_LABELS.get(row.status, row.status)),
         row.ready_on.isoformat() if row.ready_on else "", row.deadline.isoformat(), row.days_over, row.urgings,
         row.last_urged_on.isoformat() if row.last_urged_on else ""]
        for row in overdue.rows
    ]
    return _csv_bytes(OVERDUE_COLUMNS, rows)


def _done_with(progress, total):
    """A progress callback for the rendering step that follows the query's steps."""
    return (lambda done: progress(done, total)) if progress is not None else (lambda done: None)


def statistics_report(session, region, period, *, scope, fmt="pdf", as_of=None, progress=None):
    """The statistics report as bytes in ``fmt`` (``pdf`` or ``csv``): the query, then
    the rendering, reporting ``progress(done, total)`` along the way."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    total = 6
    stats = compute_statistics(session, region, period, scope=scope, as_of=as_of,
                               progress=(lambda done, _n: progress(done, total)) if progress else None)
    content = render_statistics_pdf(stats) if fmt == "pdf" else statistics_csv(stats)
    _done_with(progress, total)(total)
    return content


def overdue_report(session, region, *, scope, fmt="pdf", as_of=None, deadline_from=None, deadline_to=None,
                   progress=None):
    """The overdue supervision list as bytes in ``fmt`` (``pdf`` or ``csv``): the query
    (the first quarter of the progress), then the rendering, part by part."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    report = (lambda done, total: progress(done, total)) if progress else (lambda done, total: None)
    query_share = 25
    overdue = overdue_list(session, region, scope=scope, as_of=as_of, deadline_from=deadline_from,
                           deadline_to=deadline_to,
                           progress=lambda done, n: report(query_share * done // n, 100))
    if fmt == "pdf":
        content = render_overdue_pdf(
            overdue, progress=lambda done, n: report(query_share + (100 - query_share) * done // n, 100))
    else:
        content = overdue_csv(overdue)
    report(100, 100)
    return content
