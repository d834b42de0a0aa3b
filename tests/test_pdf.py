"""The printed documents: the 联办登记表 and the 火化证明 are one A4 page each, in real
Chinese glyphs from an embedded font, with every item and material of the case.

Text is read back with poppler's ``pdftotext`` (``poppler-utils``; Chinese in a CID font
also needs ``poppler-data``) and fonts are listed with ``pdffonts``."""

import datetime
import io
import math
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from app import pdf
from app.extensions import db
from app.models import CaseMaterial, DeathCertificate, Department, Fact, Material
from tests.factories import make_case

RETIREE_FACTS = ["pension_enterprise", "medical_employee", "disability_certificate"]
A4_POINTS = (595.3, 841.9)
POPPLER_TOOLS = ("pdftotext", "pdffonts")


def poppler(tool, content, tmp_path, *options):
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is missing: install the Debian packages poppler-utils and poppler-data")
    path = tmp_path / "document.pdf"
    path.write_bytes(content)
    return subprocess.run([tool, *options, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, text=True, check=True).stdout


def layout_text(content, tmp_path):
    return poppler("pdftotext", content, tmp_path, "-layout")


def drawn_text(content, tmp_path):
    """The text in drawing order with all white space removed: a name wrapped inside a
    table cell comes out whole (``-layout`` interleaves its two lines with other columns)."""
    return re.sub(r"\s+", "", poppler("pdftotext", content, tmp_path, "-raw"))


def fonts(content, tmp_path):
    """(name, embedded) for each font ``pdffonts`` lists."""
    rows = poppler("pdffonts", content, tmp_path).splitlines()[2:]
    # name type encoding emb sub uni object-id generation: the name has no spaces.
    return [(row.split()[0], row.split()[-5] == "yes") for row in rows if row.strip()]


def assert_one_a4_page(content):
    reader = PdfReader(io.BytesIO(content))
    assert len(reader.pages) == 1, f"{len(reader.pages)} pages, not 1"
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_POINTS, abs=1)


def font_sizes(content):
    """The sizes (pt, as drawn) of the text on the first page."""
    sizes = set()

    def visit(text, cm, tm, _font, size):
        if text.strip():
            sizes.add(round(size * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1]), 1))

    PdfReader(io.BytesIO(content)).pages[0].extract_text(visitor_text=visit)
    return sizes


def assert_chinese_font_embedded(content, tmp_path):
    listed = fonts(content, tmp_path)
    assert any("WenQuanYi" in name and embedded for name, embedded in listed), listed
    not_embedded = [name for name, embedded in listed if not embedded]
    assert not not_embedded, f"fonts used but not embedded: {not_embedded}"


@pytest.fixture
def retiree_case(ctx):
    """An enterprise retiree with a disability certificate."""
    return make_case("window", facts=RETIREE_FACTS, name="王建国")


LONG_NAME = "阿卜杜热合曼·买买提依明·艾尔肯江"
LONG_ADDRESS = "江西省上饶市横峰县兴安街道办事处岑阳镇西山村委会上坊自然村人民路东段一百二十八号附三号二单元十四楼一四零三室"


def worst_case():
    """The largest form: every fact (12 items, every material with the pension handbook),
    a long name and address, and a death proof checked against the registry."""
    facts = [code for (code,) in db.session.query(Fact.code)]
    case = make_case("window", facts=facts, name=LONG_NAME)
    case.hukou_address = LONG_ADDRESS
    case.applicant_name = "欧阳诸葛·司马慕容"
    case.applicant_relationship = "配偶之兄弟姐妹的子女"
    wj = db.session.query(Department).filter_by(region_id=case.region_id, code="WJ").one()
    case.death_certificate = DeathCertificate(
        number=f"WJ-361125-{case.case_no[-6:]}-0001", kind="medical", deceased_name=case.deceased_name,
        deceased_id_number=case.deceased_id_number, death_date=case.death_date,
        death_circumstance=case.death_circumstance, department=wj)
    case.death_certificate_no = case.death_certificate.number
    db.session.flush()
    return case


def test_poppler_tools_are_installed():
    for tool in POPPLER_TOOLS:
        assert shutil.which(tool), f"{tool} is missing: install the Debian packages poppler-utils and poppler-data"


def test_registration_form_prints_the_case_in_chinese(retiree_case, tmp_path):
    content = pdf.registration_form(retiree_case)
    text = layout_text(content, tmp_path)

    assert "横峰县“身后一件事”联办登记表" in text
    assert retiree_case.case_no in text
    assert "王建国" in text and retiree_case.deceased_id_number in text
    assert "在医疗卫生机构内死亡" in text
    assert "企业职工养老保险" in text and "持有残疾证" in text
    assert "2026年11月30日" in text
    assert "原件" in text and "扫描件" in text
    assert "窗口经办人" in text and "申请人（经办人）" in text
    assert "横府办字〔2021〕42号" in text
    drawn = drawn_text(content, tmp_path)
    for task in retiree_case.tasks:
        assert f"{task.item.code}{task.item.name}" in drawn, task.item.code
        assert task.department.name in drawn


def test_registration_form_lists_every_task_with_its_limit(retiree_case, tmp_path):
    drawn = drawn_text(pdf.registration_form(retiree_case), tmp_path)

    assert [t.item.code for t in retiree_case.tasks] == ["MZ01", "RS02", "YB01", "YB02", "CL01", "GA01"]
    assert "即时办理" in drawn and "4个工作日" in drawn
    assert "材料齐全后起算" in drawn  # no task is ready before its materials arrive
    assert "15个工作日到账" in drawn


def test_registration_form_is_one_a4_page_with_its_chinese_font_embedded(retiree_case, tmp_path):
    content = pdf.registration_form(retiree_case)

    assert_one_a4_page(content)
    assert_chinese_font_embedded(content, tmp_path)


def test_a_name_with_markup_is_printed_as_text(ctx, tmp_path):
    case = make_case("window", facts=RETIREE_FACTS, name="<script>alert(1)</script>")

    assert "<script>alert(1)</script>" in layout_text(pdf.registration_form(case), tmp_path)
    assert "&lt;script&gt;" in pdf.render_html("registration_form.html", **pdf.registration_context(case))


def test_checklist_names_each_material_once_with_what_the_window_has(retiree_case):
    deceased_id = db.session.query(Material).filter_by(code="DECEASED_ID").one()
    db.session.add(CaseMaterial(case=retiree_case, material=deceased_id, original_checked=True))
    db.session.flush()

    rows = {row["name"]: row for row in pdf.checklist_rows(retiree_case)}

    assert len(rows) == len(pdf.checklist_rows(retiree_case))
    assert rows["逝者身份证"]["original"] == pdf.MARK_PRESENT  # checked at the window
    assert rows["逝者身份证"]["scan"] == pdf.MARK_MISSING  # asked for as a scan, not stored yet
    assert rows["逝者身份证"]["item_codes"].split() == ["MZ01", "RS02", "YB01", "GA01"]
    assert rows["火化证明"]["original"] == pdf.MARK_NOT_NEEDED


def test_cremation_certificate(retiree_case, tmp_path):
    content = pdf.cremation_certificate(retiree_case, datetime.date(2026, 12, 3))
    text = layout_text(content, tmp_path)

    assert "横峰县殡仪馆 火化证明" in text
    assert f"{retiree_case.case_no}-HH" in text
    assert "王建国" in text and retiree_case.deceased_id_number in text and "男" in text
    assert "2026年11月30日" in text and "2026年12月3日" in text
    assert "特此证明。" in text
    assert "横峰县殡仪馆联办窗口" in text
    assert_one_a4_page(content)
    assert_chinese_font_embedded(content, tmp_path)


def test_completing_cremation_issues_the_certificate(retiree_case):
    cremation_cert = db.session.query(Material).filter_by(code="CREMATION_CERT").one()

    content = pdf.produce(cremation_cert, retiree_case, datetime.date(2026, 12, 3))

    assert content.startswith(b"%PDF")


def test_a_missing_font_names_the_package_to_install(app, ctx, retiree_case, monkeypatch):
    monkeypatch.setitem(app.config, "REPORT_FONT_PATH", "/nonexistent/wqy-microhei.ttc")

    with pytest.raises(pdf.ReportFontMissing, match="fonts-wqy-microhei"):
        pdf.registration_form(retiree_case)


def test_the_largest_case_fits_one_legible_a4_page(ctx, tmp_path):
    case = worst_case()
    assert len(case.tasks) == 12
    content = pdf.registration_form(case)

    assert_one_a4_page(content)
    assert min(font_sizes(content)) >= 8, font_sizes(content)  # nothing too small to read on paper
    assert_chinese_font_embedded(content, tmp_path)
    drawn = drawn_text(content, tmp_path)
    for text in (LONG_NAME, LONG_ADDRESS, case.applicant_relationship, case.death_certificate_no,
                 "已与死亡证明登记核对一致", "申请人（经办人）（签字）", "个人账户养老手册", "经办人现场拍照"):
        assert re.sub(r"\s+", "", text) in drawn, text
    for task in case.tasks:
        assert task.item.code in drawn and task.department.name in drawn, task.item.code


def test_either_or_materials_say_so_on_the_form(retiree_case, tmp_path):
    rows = {row["name"]: row for row in pdf.checklist_rows(retiree_case)}

    # CL01 and YB01 take the death proof or the cremation certificate, not both.
    assert rows["死亡证明"]["item_codes"].split() == ["MZ01", "RS02", "YB01（或火化证明）", "CL01（或火化证明）", "GA01"]
    assert rows["火化证明"]["item_codes"].split() == ["RS02", "YB01（或死亡证明）", "CL01（或死亡证明）"]
    assert "CL01（或火化证明）" in drawn_text(pdf.registration_form(retiree_case), tmp_path)


def test_the_pension_handbooks_original_is_asked_for_and_kept_by_the_funeral_home(ctx):
    case = make_case("window", facts=["pension_enterprise", "insured_before_2010_12_in_service"], name="手册")
    rows = {row["name"]: row for row in pdf.checklist_rows(case)}

    handbook = rows["个人账户养老手册"]
    assert (handbook["original"], handbook["scan"]) == (pdf.MARK_MISSING, pdf.MARK_MISSING)
    assert "原件由殡仪馆留存" in handbook["note"]


def test_the_form_says_how_the_death_proof_stands_against_the_registry(ctx, tmp_path):
    case = make_case("window", facts=[], name="未核对")
    assert "登记库中未找到" in drawn_text(pdf.registration_form(case), tmp_path)
    case.registry_differences_accepted = True
    assert "与死亡证明登记不一致（经办人已确认）" in drawn_text(pdf.registration_form(case), tmp_path)
