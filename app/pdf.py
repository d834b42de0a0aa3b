"""PDF reports: a Jinja template of the top-level ``reports/`` folder, filled from a case,
rendered to HTML and converted by xhtml2pdf into A4 PDF bytes with an embedded TrueType
Chinese font (Debian's ``fonts-wqy-microhei`` unless ``REPORT_FONT_PATH`` says otherwise).

The built-in ``STSong-Light`` would need no file but is not embedded, so the printout
would depend on the reader's machine; an embedded font looks the same everywhere.
"""

import gc
import hashlib
import io
import threading
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from flask import current_app, has_app_context
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from reportlab import rl_config
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus.tables import CellStyle
from sqlalchemy.orm import joinedload, object_session, selectinload
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

from app.domain.clock import to_cst_date
from app.domain.intake import death_proof_status
from app.domain.rules import material_checklist, needed_by_text
from app.models import Case, CaseMaterial, Item, Requirement, Task
from app.models.catalogue import ORIGINAL, SCAN

REPORTS_DIR = Path(__file__).resolve().parent.parent / "reports"
DEFAULT_FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
FONT_PACKAGE = "fonts-wqy-microhei"

# The form is a Chinese government form whatever the screen's language.
DEATH_CIRCUMSTANCES = {
    "in_hospital": "在医疗卫生机构内死亡",
    "outside_hospital": "在医疗卫生机构外死亡",
    "en_route": "来院途中死亡",
    "unnatural": "未经救治的非正常死亡",
}
# Checklist marks: the fonts have no ☑, but □ and ■ render.
MARK_PRESENT = "■"
MARK_MISSING = "□"
MARK_NOT_NEEDED = "—"


class ReportError(RuntimeError):
    """A report could not be rendered."""


class ReportFontMissing(ReportError):
    """The configured Chinese font file does not exist."""


def chinese_date(value):
    """2026年12月3日; an empty string for no date."""
    return f"{value.year}年{value.month}月{value.day}日" if value else ""


_environment = Environment(
    loader=FileSystemLoader(REPORTS_DIR),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_environment.filters["chinese_date"] = chinese_date


def font_path():
    """The TrueType font to embed: ``REPORT_FONT_PATH`` in an app context, else the default."""
    path = DEFAULT_FONT_PATH
    if has_app_context():
        path = current_app.config.get("REPORT_FONT_PATH") or DEFAULT_FONT_PATH
    path = Path(path)
    if not path.is_file():
        raise ReportFontMissing(
            f"The report font {path} is missing: install the Debian package {FONT_PACKAGE} "
            f"(apt-get install {FONT_PACKAGE}) or set REPORT_FONT_PATH to a TrueType font with Chinese glyphs."
        )
    return path.resolve()


@cache
def _registered_font(path):
    """Parse the font once per process (0.1 to 0.3 s for a CJK face) and return its
    CSS family. The ReportLab name is the one xhtml2pdf gives an ``@font-face`` family's
    regular face (``<family>_00``), so its ``@font-face`` finds the font already built."""
    family = "reportcjk" + hashlib.sha1(str(path).encode()).hexdigest()[:8]  # noqa: S324 (a name, not a secret)
    pdfmetrics.registerFont(TTFont(f"{family}_00", str(path)))
    return family


# ReportLab's settings are module state: renders change them one at a time.
_render_lock = threading.Lock()


@contextmanager
def _reportlab_settings(font_name):
    """ReportLab's settings for one render. Its base font: ReportLab starts every page
    with Helvetica selected and gives every table cell Helvetica, even cells drawn with
    other fonts, which leaves a font in the file that is neither embedded nor needed;
    with our TrueType font as the base, the file holds the embedded font alone. And
    binary streams: ASCII85 makes the file a quarter larger and the render slower."""
    previous = rl_config.canvas_basefontname, CellStyle.fontname, rl_config.useA85
    rl_config.canvas_basefontname = CellStyle.fontname = font_name
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.canvas_basefontname, CellStyle.fontname, rl_config.useA85 = previous


@contextmanager
def _cyclic_gc_paused():
    """A render allocates some hundred thousand objects, which set off Python's cyclic
    collector about ten times, and now and then a full collection of the whole process
    (FAB, SQLAlchemy, the font): that pause lands inside the render and made its 95th
    percentile nearly twice its median. Reference counting still frees what the render
    drops; the cycles it leaves are collected after it (renders hold ``_render_lock``)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def render_html(template_name, **context):
    """The HTML a report template makes of ``context``, as xhtml2pdf will read it."""
    path = font_path()
    return _render_template(template_name, path, context)


def _render_template(template_name, path, context):
    return _environment.get_template(template_name).render(
        font_family=_registered_font(path), font_path=str(path), **context
    )


def render_pdf(template_name, **context):
    """Render ``reports/<template_name>`` with ``context`` into PDF bytes."""
    path = font_path()
    family = _registered_font(path)
    html = _render_template(template_name, path, context)
    # Local reads stay in reports/ and the font's folder; the intranet has no internet.
    policy = ResourceAccessPolicy(base_dir=REPORTS_DIR, extra_roots=(path.parent,), allow_remote=False)
    out = io.BytesIO()
    with _render_lock, _reportlab_settings(f"{family}_00"), _cyclic_gc_paused():
        result = pisa.CreatePDF(
            html, dest=out, encoding="utf-8", path=str(REPORTS_DIR / template_name), resource_policy=policy
        )
    if result.err:
        errors = "; ".join(f"line {line}: {msg}" for level, line, msg, _fragment in result.log if level == "error")
        raise ReportError(f"xhtml2pdf could not render {template_name}: {errors or 'see the xhtml2pdf log'}")
    return out.getvalue()


def time_limit_text(days):
    return "即时办理" if not days else f"{days}个工作日"


def payout_text(item):
    if item.note:
        return item.note
    return f"{item.payout_days}个工作日到账" if item.payout_days else ""


def _mark(needed, present):
    if not needed:
        return MARK_NOT_NEEDED
    return MARK_PRESENT if present else MARK_MISSING


def checklist_rows(case):
    """The case's single material checklist: each material once, the forms asked for
    with whether the window already has them, and the items that need it."""
    items = [task.item for task in case.tasks]
    fact_codes = [fact.code for fact in case.facts]
    materials = {req.material.code: req.material for item in items for req in item.requirements}
    originals = {m.material.code for m in case.materials if m.original_checked}
    scans = {m.material.code for m in case.materials if m.stored_name}
    names = {code: material.name for code, material in materials.items()}
    rows = []
    for code, entry in material_checklist(items, fact_codes).items():
        material = materials[code]
        rows.append({
            "name": material.name,
            "original": _mark(ORIGINAL in entry["forms"], code in originals),
            "scan": _mark(SCAN in entry["forms"], code in scans),
            # "CL01（或火化证明）": CL01 takes either; the form must not say it needs both.
            "item_codes": " ".join(needed_by_text(entry, names)),
            "note": material.note or "",
        })
    return rows


def task_rows(case):
    return [
        {
            "code": task.item.code,
            "name": task.item.name,
            "department": task.department.name,
            "time_limit": time_limit_text(task.item.time_limit_days),
            "deadline": chinese_date(task.deadline) if task.deadline else "材料齐全后起算",
            "payout": payout_text(task.item),
        }
        for task in case.tasks
    ]


def load_for_print(case):
    """Load what the form shows in a few queries rather than one per task and requirement."""
    session = object_session(case)
    if session is None or case.id is None:
        return
    session.query(Case).filter(Case.id == case.id).options(
        joinedload(Case.region),
        joinedload(Case.department),
        selectinload(Case.facts),
        selectinload(Case.materials).joinedload(CaseMaterial.material),
        selectinload(Case.tasks).options(
            joinedload(Task.department),
            joinedload(Task.item).selectinload(Item.requirements).options(
                joinedload(Requirement.material), joinedload(Requirement.condition_fact)
            ),
        ),
    ).one()


# The case against the death-certificate registry (app.domain.intake.death_proof_status).
DEATH_PROOF_STATUS = {
    "checked": "已与死亡证明登记核对一致",
    "differs": "与死亡证明登记不一致（经办人已确认）",
    "not_found": "登记库中未找到",
}


def registration_context(case):
    """What the 联办登记表 shows, from the case and its tasks and materials."""
    load_for_print(case)
    return {
        "death_proof": DEATH_PROOF_STATUS[death_proof_status(case)],
        "county": case.region.name,
        "case": case,
        "registered_on": to_cst_date(case.registered_at),
        "window": case.department.name,
        "circumstance": DEATH_CIRCUMSTANCES.get(case.death_circumstance, case.death_circumstance),
        "facts": [fact.name for fact in sorted(case.facts, key=lambda f: (f.sort_order, f.code))],
        "tasks": task_rows(case),
        "checklist": checklist_rows(case),
        "marks": {"present": MARK_PRESENT, "missing": MARK_MISSING, "not_needed": MARK_NOT_NEEDED},
    }


def registration_form(case):
    """The 联办登记表 the window prints for the applicant's signature, as PDF bytes."""
    return render_pdf("registration_form.html", **registration_context(case))


def cremation_certificate(case, issued_on):
    """The 火化证明 the funeral home issues when cremation (MZ01) is completed, as PDF bytes."""
    return render_pdf(
        "cremation_certificate.html",
        county=case.region.name,
        case=case,
        certificate_no=f"{case.case_no}-HH",
        window=case.department.name,
        issued_on=issued_on,
    )


# The documents the window issues when an item that produces a material is completed,
# by the material's stable code (SPEC "Stable codes").
ISSUED_DOCUMENTS = {"CREMATION_CERT": cremation_certificate}


def produce(material, case, issued_on):
    """The PDF of a material an item produces (the 火化证明 of MZ01), issued on ``issued_on``."""
    document = ISSUED_DOCUMENTS.get(material.code)
    if document is None:
        raise ReportError(f"No document template issues the material {material.code}.")
    return document(case, issued_on)


# The 办结告知书 says each item's outcome in the words of the notice.
RESULT_LABELS = {"completed": "已办结", "rejected": "不予办理"}


def amount_text(amount, unit=""):
    """1234.5 → 1,234.50 (followed by ``unit``); an empty string for none."""
    return f"{amount:,.2f}{unit}" if amount is not None else ""


def result_rows(case):
    """Each item's outcome: department, result, note or reason, finish date (CST), and
    for a payout the amount and the expected arrival date."""
    rows = []
    for task in case.tasks:
        rows.append({
            "code": task.item.code,
            "name": task.item.name,
            "department": task.department.name,
            "result": RESULT_LABELS.get(task.status, task.status),
            "rejected": task.status == "rejected",
            "note": task.result_note or "",
            "finished_on": chinese_date(to_cst_date(task.finished_at)) if task.finished_at else "",
            "amount": amount_text(task.payout_amount),
            "expected": chinese_date(task.payout_expected_date),
        })
    return rows


def completion_context(case):
    """What the 办结告知书 shows, from a completed case and its tasks."""
    load_for_print(case)
    rows = result_rows(case)
    payouts = [task.payout_amount for task in case.tasks if task.payout_amount is not None]
    return {
        "county": case.region.name,
        "case": case,
        "registered_on": to_cst_date(case.registered_at),
        "completed_on": to_cst_date(case.completed_at) if case.completed_at else None,
        "window": case.department.name,
        "results": rows,
        "completed_count": sum(1 for row in rows if not row["rejected"]),
        "rejected_count": sum(1 for row in rows if row["rejected"]),
        "payout_total": amount_text(sum(payouts), "元") if payouts else "",
    }


def completion_notice(case):
    """The 办结告知书 the window hands the applicant when every item is handled, as PDF bytes."""
    return render_pdf("completion_notice.html", **completion_context(case))
