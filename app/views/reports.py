"""The managers' dashboard and reports: the figures of a region for a period on
screen (with ECharts, served by the app), the statistics report and the overdue
supervision list as PDF and CSV. A region the user may not see answers 404, and
every figure is computed under the user's scope (``app.domain.statistics``)."""

from flask import Response, abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l

from app import report_jobs, reporting
from app.domain import statistics
from app.domain.clock import today_cst
from app.domain.statistics import FigureQuery, Period
from app.extensions import db
from app.models import Region, ReportJob
from app.models.report import DONE, FAILED, OVERDUE, STATISTICS
from app.security.scope import current_scope, scope_query

# Longer periods are for the command line (and, later, background reports).
MAX_PERIOD_DAYS = 731


def visible_regions():
    """The regions the user may report on, the widest first (province, city, county)."""
    regions = scope_query(Region, db.session.query(Region)).order_by(Region.code).all()
    ids = {r.id for r in regions}
    depth = {}

    def level(region):
        if region.id not in depth:
            depth[region.id] = 0 if region.parent_id not in ids else level(region.parent) + 1
        return depth[region.id]

    return sorted(regions, key=lambda r: (level(r), r.code))


def chosen_region(regions):
    """The region of ``?region=`` (404 if the user may not see it), else the widest."""
    wanted = request.args.get("region")
    if not wanted:
        if not regions:
            abort(404)
        return regions[0]
    try:
        region_id = int(wanted)
    except ValueError:
        abort(404)
    region = next((r for r in regions if r.id == region_id), None)
    if region is None:
        abort(404)
    return region


def chosen_period():
    """The period of ``?month=YYYY-MM`` or ``?from=…&to=…``; last month by default.
    A wrong or too long period falls back to last month, with a message."""
    args = request.args
    if not (args.get("month") or args.get("from") or args.get("to")):
        return Period.last_month()
    try:
        period = Period.parse(month=args.get("month"), start=args.get("from"), end=args.get("to"))
    except ValueError:
        flash(str(_l("That period is not valid; showing last month.")), "warning")
        return Period.last_month()
    if period.days > MAX_PERIOD_DAYS:
        flash(str(_l("A period is at most two years; showing last month.")), "warning")
        return Period.last_month()
    return period


def file_response(content, mimetype, filename, inline=False):
    response = Response(content, mimetype=mimetype)
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = f"{disposition}; filename={filename}"
    response.headers["Cache-Control"] = "no-store"
    return response


def job_file(job):
    """A generated report's file; ``X-Report-Job`` says which job it comes from."""
    response = file_response(job.content, report_jobs.MIMETYPES[job.fmt], job.filename, inline=job.fmt == "pdf")
    response.headers["X-Report-Job"] = str(job.id)
    return response


class ReportsView(BaseView):
    route_base = "/reports"
    default_view = "dashboard"

    def _links(self, region, period):
        """A function giving the task list's URL behind a figure."""

        def link(figure, department=None, item=None):
            query = FigureQuery(figure, None if figure == "overdue" else period, region.id,
                                department.id if department else None, item.id if item else None)
            return url_for("TaskView.list", **query.args())

        return link

    @expose("/dashboard")
    @has_access
    def dashboard(self):
        regions = visible_regions()
        region = chosen_region(regions)
        period = chosen_period()
        stats = statistics.compute_statistics(db.session, region, period, scope=current_scope())
        link = self._links(region, period)
        today = today_cst()
        this_month = Period.month(today.year, today.month)
        period_args = ({"month": f"{period.start:%Y-%m}"} if period.is_month
                       else {"from": period.start.isoformat(), "to": period.end.isoformat()})
        chart = {
            "departments": [d.department.label for d in stats.departments],
            "rates": [None if d.figures.on_time_rate is None else round(d.figures.on_time_rate * 100, 1)
                      for d in stats.departments],
            "on_time": [d.figures.on_time for d in stats.departments],
            "late": [d.figures.late for d in stats.departments],
            "rejected": [d.figures.rejected for d in stats.departments],
            "overdue": [d.figures.overdue_now for d in stats.departments],
            "links": {
                figure: [link(figure, d.department) for d in stats.departments]
                for figure in ("on_time", "late", "rejected", "overdue", "completed")
            },
            "labels": {
                "rate": str(_l("On-time rate")), "on_time": str(_l("Completed on time")),
                "late": str(_l("Completed late")), "rejected": str(_l("Rejected")),
                "overdue": str(_l("Overdue now")),
            },
        }
        return self.render_template(
            "dashboard.html",
            stats=stats,
            regions=regions,
            region=region,
            period=period,
            period_args=dict(period_args, region=region.id),
            last_month=Period.last_month(today),
            this_month=this_month,
            link=link,
            case_link=url_for("CaseView.list", **FigureQuery("received", period, region.id).args()),
            fmt={"percent": reporting.percent, "days": reporting.days_text, "count_change": reporting.count_change,
                 "ratio_change": reporting.ratio_change, "signed": reporting.signed},
            chart=chart,
        )

    @expose("/statistics.<fmt>")
    @has_access
    def statistics(self, fmt):
        """The statistics report of the dashboard's region and period, as PDF or CSV. A
        period longer than ``REPORT_SYNC_MAX_DAYS`` is generated in the background; a
        closed period's report generated before (for the same scope and language) is
        served from what was generated, and one rendered here is kept for next time."""
        if fmt not in reporting.FORMATS:
            abort(404)
        region = chosen_region(visible_regions())
        period = chosen_period()
        if period.days > current_app.config["REPORT_SYNC_MAX_DAYS"]:
            return self._in_background(STATISTICS, fmt, region, period)
        scope, locale = current_scope(), report_jobs.report_locale(fmt)
        hit = report_jobs.cached(db.session, STATISTICS, fmt, region, period, report_jobs.scope_key(scope), locale)
        if hit is not None:
            return job_file(hit)
        stats = statistics.compute_statistics(db.session, region, period, scope=scope)
        content = reporting.render_statistics_pdf(stats) if fmt == "pdf" else reporting.statistics_csv(stats)
        if report_jobs.cacheable(STATISTICS, period):
            report_jobs.keep(db.session, g.user, scope, STATISTICS, fmt, region, period, content, locale)
            db.session.commit()
        name = f"statistics-{region.code}-{period.key()}.{fmt}"
        return file_response(content, report_jobs.MIMETYPES[fmt], name, inline=fmt == "pdf")

    @expose("/overdue.<fmt>")
    @has_access
    def overdue(self, fmt):
        """The overdue supervision list (超时督办清单) of a region, as PDF or CSV. A PDF of
        more than ``REPORT_SYNC_MAX_ROWS`` tasks is generated in the background (counted
        first: the list itself is then computed by the worker)."""
        if fmt not in reporting.FORMATS:
            abort(404)
        region = chosen_region(visible_regions())
        scope = current_scope()
        if fmt == "pdf" and statistics.overdue_count(db.session, region, scope=scope) > current_app.config[
                "REPORT_SYNC_MAX_ROWS"]:
            return self._in_background(OVERDUE, fmt, region, None)
        overdue = statistics.overdue_list(db.session, region, scope=scope)
        name = f"overdue-{region.code}-{overdue.as_of.isoformat()}"
        if fmt == "pdf":
            return file_response(reporting.render_overdue_pdf(overdue), "application/pdf", f"{name}.pdf", inline=True)
        return file_response(reporting.overdue_csv(overdue), reporting.CSV_MIMETYPE, f"{name}.csv")

    # --- reports generated in the background ------------------------------------------

    def _in_background(self, kind, fmt, region, period):
        job, how = report_jobs.request_report(db.session, g.user, current_scope(), kind, fmt, region, period,
                                              report_jobs.report_locale(fmt))
        db.session.commit()
        if how == "cached":
            return redirect(url_for("ReportsView.job_download", pk=job.id))
        if how == "queued" and not report_jobs.dispatch(job.id):
            flash(str(_l("The report is queued; it starts as soon as the worker can be reached.")), "warning")
        return redirect(url_for("ReportsView.job", pk=job.id))

    def _visible_job(self, pk):
        job = scope_query(ReportJob, db.session.query(ReportJob)).filter(ReportJob.id == pk).one_or_none()
        if job is None:
            abort(404)
        return job

    @expose("/jobs/")
    @has_access
    def jobs(self):
        """The region's reports generated in the background, newest first."""
        rows = scope_query(ReportJob, db.session.query(ReportJob)).order_by(ReportJob.id.desc()).limit(50).all()
        return self.render_template("report_jobs.html", jobs=rows, labels=JOB_LABELS)

    @expose("/jobs/<int:pk>")
    @has_access
    def job(self, pk):
        """A report being generated: its progress, then its download."""
        return self.render_template("report_job.html", job=self._visible_job(pk), labels=JOB_LABELS,
                                    failure=JOB_FAILED_MESSAGE, show_error=current_scope().sees_all)

    @expose("/jobs/<int:pk>/status")
    @has_access
    def job_status(self, pk):
        job = self._visible_job(pk)
        return jsonify(status=job.status, label=str(JOB_LABELS.get(job.status, job.status)), progress=job.progress,
                       error=str(JOB_FAILED_MESSAGE) if job.status == FAILED else None,
                       download=url_for("ReportsView.job_download", pk=job.id) if job.status == DONE else None)

    @expose("/jobs/<int:pk>/download")
    @has_access
    def job_download(self, pk):
        job = self._visible_job(pk)
        if job.status != DONE:
            return redirect(url_for("ReportsView.job", pk=job.id))
        return job_file(job)


# What a user is told of a failed job; the exception itself is in the log and, for
# administrators, on the job's page.
JOB_FAILED_MESSAGE = _l("The report could not be generated; please try again or contact the administrator.")

JOB_LABELS = {
    "queued": _l("Queued"),
    "running": _l("Being generated"),
    DONE: _l("Ready to download"),
    FAILED: _l("Generation failed"),
    STATISTICS: _l("Statistics report"),
    OVERDUE: _l("Overdue supervision list"),
}
