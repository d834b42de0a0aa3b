"""Synthetic cases for demos and load tests (``flask seed synthetic --cases N``).

Plausible deceased and applicants (Chinese names, GB 11643 ID numbers with correct check
digits, mainland mobile numbers) spread over the demo counties and the last months, with
facts, the items the rules give them and tasks in every state, their timestamps and
deadlines consistent with the working-day calendar. Rows are written with Core bulk
inserts and explicit ids, a batch per transaction, so that 100,000 cases take a minute
or two. Case numbers are reserved in ``case_number_sequence`` before any case is written,
so later registrations never collide with them; a second run adds more cases.

The output is deterministic for a given seed, database state and ``now``.
"""

import datetime as dt
import math
import random
from decimal import Decimal
from types import SimpleNamespace

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import selectinload

from app.domain import rules
from app.domain.identity import make_id_number
from app.domain.workdays import load_calendar
from app.extensions import db
from app.models import (
    Case,
    CaseNumberSequence,
    Department,
    DepartmentUser,
    Fact,
    Item,
    Region,
    Requirement,
    Rule,
    Task,
    case_fact,
)
from app.models.case import (
    ACCEPTED,
    CASE_CANCELLED,
    CASE_COMPLETED,
    CASE_IN_PROGRESS,
    CASE_REGISTERED,
    COMPLETED,
    READY,
    REJECTED,
    SUPPLEMENT_REQUESTED,
    WAITING,
    utcnow,
)

# The demo counties, their share of the cases and the window clerk who registers them.
DEMO_REGIONS = (("361125", 0.6, "window"), ("361126", 0.4, "yy-window"))
BATCH_CASES = 2000

CST_OFFSET = dt.timedelta(hours=8)  # Asia/Shanghai has had no daylight saving since 1991
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)
OFFICE_OPEN, OFFICE_CLOSE = 8 * 60 + 30, 17 * 60 + 30  # minutes after midnight, CST

# Shares of outcomes.
P_CANCELLED = 0.008  # case cancelled by the window
P_STUCK = 0.02  # an older case with one task left open long past its deadline
P_LATE_MATERIAL = 0.05  # a case with one material handed in days later
P_SUPPLEMENT = 0.04  # a task whose department asks for a supplement (补正)
P_REJECTED = 0.03  # a task the department rejects
P_LATE = 0.08  # a task finished after its deadline
STUCK_AFTER_DAYS = 20

def _words(text):
    return tuple(text.split())


# --- people ---------------------------------------------------------------------------

_SURNAMES = (
    "王李张刘陈杨黄吴周徐胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡"
    "丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆孔白崔毛邱秦江史顾侯邵龙万段雷钱汤"
    "尹黎易武乔贺赖龚文付涂饶祝"
)
# The most common surnames (and those frequent in 上饶) are drawn more often.
_SURNAME_WEIGHTS = [6 if i < 20 else 3 if i < 45 else 1 for i in range(len(_SURNAMES))]
for _common in "余汪程饶祝付涂":
    _SURNAME_WEIGHTS[_SURNAMES.index(_common)] = 4
_SURNAME_CUM = [sum(_SURNAME_WEIGHTS[: i + 1]) for i in range(len(_SURNAMES))]

_OLD_MALE = _words(
    "建国 国华 德胜 福生 水根 火生 金水 长生 有才 根生 春生 国强 文华 志明 永福 明华 家兴 正荣 金龙 庆华 "
    "桂生 冬生 和平 卫东 新民 光明 宝山 茂林 发根 林生 树生 炳炎 昌盛 世明 德明 学文 春华 秋生 永康 "
    "金生 木根 仁贵 有福 祥 福 荣 贵 明 忠"
)
_OLD_FEMALE = _words(
    "秀英 桂英 玉兰 淑珍 凤英 春花 金花 桂兰 兰英 翠英 秀兰 冬梅 小英 菊英 美兰 玉梅 金莲 水英 月娥 桂花 "
    "腊梅 素珍 荷花 细妹 招娣 来娣 爱华 红梅 丽华 淑华 桂芳 玉珍 秀珍 凤兰 彩霞 三妹 玉英 梅英 兰 英 珍"
)
_YOUNG_MALE = _words(
    "伟 强 磊 军 勇 杰 涛 斌 超 明 刚 平 辉 鹏 华 飞 鑫 波 宇 浩 俊 志强 建华 海波 晓东 文斌 小龙 国平 "
    "建军 志刚 海涛 小军 卫国 红兵 剑 峰 亮 江涛 晨"
)
_YOUNG_FEMALE = _words(
    "芳 娟 敏 静 丽 艳 霞 燕 玲 红 萍 琴 慧 婷 颖 晓燕 丽萍 春燕 小红 海燕 美玲 雪梅 慧敏 桂香 小燕 丽娟 "
    "红霞 莉 娜 倩"
)

_TOWNS = {
    "361125": _words("岑阳镇 葛源镇 姚家乡 莲荷乡 龙门畈乡 港边乡 青板乡 司铺乡 新篁街道 兴安街道"),
    "361126": _words(
        "弋江镇 曹溪镇 漆工镇 樟树墩镇 南岩镇 朱坑镇 圭峰镇 叠山镇 港口镇 中畈乡 葛溪乡 湾里乡 旭光乡 "
        "清湖乡 三县岭镇 花亭街道"
    ),
}
_VILLAGES = _words("新塘 上坊 下湾 石桥 黄家 东港 柏树 桥头 茅坪 长塘 枫林 高桥 前山 后畈 杨林 沙洲 洪家 塘边 新田 五里")
# Where applicants who do not live in the county hold their ID: the rest of 上饶 and
# the places people from 上饶 commonly work.
_OTHER_SHANGRAO = ("361102", "361103", "361104", "361123", "361124", "361127", "361128", "361129", "361130", "361181")
_ELSEWHERE = ("330106", "330782", "350102", "440305", "440306", "310115", "360102", "360111", "320582")
_MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 150 151 152 153 155 156 157 158 159 166 "
    "173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 198 199"
)
_RELATIONSHIPS = (("子女", 60), ("配偶", 24), ("孙子女", 6), ("兄弟姐妹", 5), ("其他亲属", 5))
_REL_NAMES = [r for r, _ in _RELATIONSHIPS]
_REL_CUM = [sum(w for _, w in _RELATIONSHIPS[: i + 1]) for i in range(len(_RELATIONSHIPS))]
_CIRCUMSTANCES = (("in_hospital", 76), ("outside_hospital", 15), ("en_route", 3), ("unnatural", 6))
_CIRC_NAMES = [c for c, _ in _CIRCUMSTANCES]
_CIRC_CUM = [sum(w for _, w in _CIRCUMSTANCES[: i + 1]) for i in range(len(_CIRCUMSTANCES))]
_DEATH_LAG_DAYS = (0, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7)

# --- results --------------------------------------------------------------------------

_COMPLETED_NOTES = {
    "MZ01": "已火化，出具火化证明",
    "MZ02": "相关政策待遇已终止",
    "RS01": "已核定个人账户余额，待发放",
    "RS02": "已核定丧葬费、抚恤金及个人账户余额，待发放",
    "RS03": "已核定个人账户余额，待发放",
    "GJJ01": "已提取公积金余额并销户",
    "YB01": "基本医疗保险已终止参保",
    "YB02": "已核定个人账户余额，待发放",
    "CL01": "残疾证已注销",
    "TY01": "已核发丧葬补助费，抚恤金已停发并作减员处理",
    "CZ01": "已验审，待拨付",
    "GA01": "户口已注销",
}
_REJECTED_NOTES = {
    "MZ02": ("经核查，逝者未享受相关政策待遇", "逝者待遇已于此前终止"),
    "RS01": ("经核查，逝者个人账户已结清", "逝者银行卡或社保卡已注销，无法发放，请家属另行申请"),
    "RS02": ("经核查，逝者在外地参保，请至参保地办理", "逝者银行卡或社保卡已注销，无法发放，请家属另行申请"),
    "RS03": ("经核查，逝者个人账户余额已领取", "经核查，逝者未在本县参加城乡居民养老保险"),
    "GJJ01": ("继承人法定程序未完备，暂不能提取", "经核查，逝者公积金账户已封存于外地"),
    "YB01": ("经核查，逝者未在本县参保",),
    "YB02": ("经核查，逝者个人账户余额为零",),
    "CL01": ("经核查，逝者未持有本县核发的残疾证",),
    "TY01": ("经核查，逝者不属于优抚对象",),
    "CZ01": ("经核查，逝者不属于财政供养人员", "需原工作单位出具证明后另行申请"),
    "GA01": ("逝者户口已于此前注销",),
}
_SUPPLEMENT_NOTES = {
    "RS01": "逝者银行卡或社保卡扫描件不清晰，请补正",
    "RS02": "请补正逝者银行卡或社保卡扫描件（卡号不清晰）",
    "RS03": "请补正逝者银行卡或社保卡扫描件（卡号不清晰）",
    "GJJ01": "请补正经办人现场拍照（照片不清晰）",
    "YB02": "逝者银行卡扫描件与户名不符，请补正",
    "TY01": "逝者银行卡扫描件不清晰，请补正",
    "GA01": "户口簿扫描件缺少逝者本人页，请补正",
}
_GENERIC_SUPPLEMENT = "材料扫描件不清晰，请补正"
_CANCEL_REASONS = (
    "家属申请撤回，自行到各部门办理",
    "经核实，逝者非本县户籍",
    "重复登记，已合并至另一案件",
    "登记信息有误，撤销后重新登记",
)
_CANCEL_NOTE = "案件已撤销：{}"
# Payout amounts in yuan: (low, high).
_PAYOUTS = {
    "RS01": (3000, 90000),
    "RS02": (12000, 160000),
    "RS03": (300, 18000),
    "YB02": (100, 25000),
    "TY01": (1500, 3000),
    "CZ01": (40000, 320000),
}
# Materials a family sometimes hands in days after registration.
_LATE_MATERIALS = ("BANK_CARD_CLASS1", "APPLICANT_PHOTO", "BANK_OR_SSC_CARD", "BANK_CARD", "PENSION_HANDBOOK")


class SetupError(RuntimeError):
    """The database lacks what synthetic cases need (run ``flask seed all`` first)."""


# --- the catalogue as plain objects ---------------------------------------------------


def _load_catalogue(session):
    """Items, rules and requirements as detached plain objects that ``app.domain.rules``
    accepts, so committing a batch does not expire them."""
    facts = {f.id: SimpleNamespace(id=f.id, code=f.code) for f in session.query(Fact)}
    items = []
    query = session.query(Item).options(
        selectinload(Item.rules).selectinload(Rule.fact),
        selectinload(Item.requirements).selectinload(Requirement.material),
        selectinload(Item.requirements).selectinload(Requirement.condition_fact),
        selectinload(Item.produces_material),
    )
    for item in query:
        items.append(SimpleNamespace(
            id=item.id, code=item.code, sort_order=item.sort_order, department_code=item.department_code,
            time_limit_days=item.time_limit_days, payout_days=item.payout_days,
            produces=item.produces_material.code if item.produces_material else None,
            rules=[SimpleNamespace(fact=facts[r.fact_id] if r.fact_id else None) for r in item.rules],
            requirements=[
                SimpleNamespace(
                    group_no=r.group_no, form=r.form, material=SimpleNamespace(code=r.material.code),
                    condition_fact=facts[r.condition_fact_id] if r.condition_fact_id else None,
                )
                for r in item.requirements
            ],
        ))
    if not items:
        raise SetupError("No items: run `flask seed all` first.")
    return items, {f.code: f.id for f in facts.values()}


def _load_regions(session):
    regions = []
    for code, share, window_username in DEMO_REGIONS:
        region = session.query(Region).filter_by(code=code).one_or_none()
        if region is None:
            raise SetupError(f"Region {code} is missing: run `flask seed all` first.")
        departments = {d.code: d.id for d in session.query(Department).filter_by(region_id=region.id, active=True)}
        window = (
            session.query(Department)
            .filter_by(region_id=region.id, active=True, accepts_cases=True)
            .order_by(Department.id).first()
        )
        if window is None:
            raise SetupError(f"Region {code} has no joint-handling window.")
        user_id = session.scalar(select(DepartmentUser.id).where(DepartmentUser.username == window_username))
        regions.append(SimpleNamespace(
            id=region.id, code=code, name=region.name, share=share, departments=departments,
            window_id=window.id, user_id=user_id,
            address_prefix=f"江西省上饶市{region.name}",
        ))
    return regions


# --- the generator --------------------------------------------------------------------


class _Generator:
    def __init__(self, rng, now, calendar, items, fact_ids, used_ids):
        self.rng = rng
        self.now = now
        self.calendar = calendar
        self.items = items
        self.fact_ids = fact_ids
        self.used_ids = used_ids
        self._plan_cache = {}
        self._needs_cache = {}
        self._workday_cache = {}
        self.producers = {i.produces: i.code for i in items if i.produces}

    # time helpers

    def add_workdays(self, day, n):
        key = (day, n)
        found = self._workday_cache.get(key)
        if found is None:
            found = self._workday_cache[key] = self.calendar.add_working_days(day, n)
        return found

    @staticmethod
    def cst_day(ts):
        return (ts + CST_OFFSET).date()

    @staticmethod
    def utc_at(day, minute):
        return dt.datetime(day.year, day.month, day.day) + dt.timedelta(minutes=minute) - CST_OFFSET

    def office_time(self, ts):
        """``ts``, or the next moment a department's office is open (a working day 8:30–17:30 CST)."""
        local = ts + CST_OFFSET
        day = local.date()
        minute = local.hour * 60 + local.minute
        if self.calendar.is_working_day(day):
            if OFFICE_OPEN <= minute < OFFICE_CLOSE:
                return ts
            if minute < OFFICE_OPEN:
                return self.utc_at(day, OFFICE_OPEN + self.rng.randrange(90))
        return self.utc_at(self.add_workdays(day, 1), OFFICE_OPEN + self.rng.randrange(90))

    # people

    def person_name(self, male, old):
        rng = self.rng
        surname = rng.choices(_SURNAMES, cum_weights=_SURNAME_CUM)[0]
        pool = (_OLD_MALE if male else _OLD_FEMALE) if old else (_YOUNG_MALE if male else _YOUNG_FEMALE)
        return surname, rng.choice(pool)

    def new_id(self, region_code, birth, male):
        rng = self.rng
        for _ in range(100):
            serial = rng.randrange(0, 100) * 10 + rng.randrange(1 if male else 0, 10, 2)
            if serial == 0:
                continue
            value = make_id_number(region_code, birth, serial)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value
        raise RuntimeError("no free ID number")  # pragma: no cover (1000 serials a day)

    def birth_date(self, year):
        start = dt.date(year, 1, 1)
        return start + dt.timedelta(days=self.rng.randrange((dt.date(year + 1, 1, 1) - start).days))

    def mobile(self):
        return self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(100_000_000):08d}"

    def facts_for(self, age, male):
        rng = self.rng
        facts = []
        p = rng.random()
        if p < 0.10:
            facts += ["pension_institution", "institution_staff"]
            scheme = "institution"
        elif p < 0.45:
            facts.append("pension_enterprise")
            scheme = "enterprise"
            in_service = age < (60 if male else 55)
            if in_service and rng.random() < 0.7:
                facts.append("insured_before_2010_12_in_service")
        else:
            facts.append("pension_resident")
            scheme = "resident"
        if rng.random() < {"institution": 0.85, "enterprise": 0.35, "resident": 0.02}[scheme]:
            facts.append("housing_fund")
        if scheme == "resident":
            if rng.random() < 0.97:
                facts.append("medical_resident")
        elif rng.random() < 0.95:
            facts.append("medical_employee")
        else:
            facts.append("medical_resident")
        if rng.random() < 0.07:
            facts.append("disability_certificate")
            if rng.random() < 0.4:
                facts.append("disability_two_subsidies")
        if rng.random() < (0.06 if male else 0.01):
            facts.append("entitled_group")
        if scheme == "resident":
            p = rng.random()
            if p < 0.08:
                facts.append("dibao")
            elif p < 0.10:
                facts.append("tekun")
        if scheme != "resident" and rng.random() < 0.015:
            facts.append("urban_hardship")
        if age >= 80 and rng.random() < 0.85:
            facts.append("elderly_allowance")
        return facts

    # rules

    def plan(self, facts):
        key = frozenset(facts)
        found = self._plan_cache.get(key)
        if found is None:
            chosen = rules.items_for(self.items, facts)
            # Producers first: their results are materials of the others.
            found = sorted(chosen, key=lambda i: (i.produces is None, i.sort_order, i.code))
            self._plan_cache[key] = found
        return found

    def needs(self, item, facts):
        key = (item.id, frozenset(facts))
        found = self._needs_cache.get(key)
        if found is None:
            found = self._needs_cache[key] = [
                tuple(code for code, _form in need.materials) for need in rules.needs_for(item, facts)
            ]
        return found

    # one case

    def case(self, case_id, case_no, region, registered_at, first_task_id):
        rng, now = self.rng, self.now
        t0 = registered_at
        reg_day = self.cst_day(t0)

        male = rng.random() < 0.55
        birth_year = min(1985, int(rng.triangular(1925, 1986, 1942)))
        birth = self.birth_date(birth_year)
        death_date = reg_day - dt.timedelta(days=rng.choice(_DEATH_LAG_DAYS))
        age = death_date.year - birth.year - ((death_date.month, death_date.day) < (birth.month, birth.day))
        surname, given = self.person_name(male, old=True)
        circumstance = rng.choices(_CIRC_NAMES, cum_weights=_CIRC_CUM)[0]
        if circumstance == "unnatural":
            certificate = f"GA{region.code}{death_date.year}{rng.randrange(100000):05d}"
        else:
            certificate = f"Y{region.code}{death_date:%y}{rng.randrange(1000000):06d}"
        facts = self.facts_for(age, male)

        relationship = rng.choices(_REL_NAMES, cum_weights=_REL_CUM)[0]
        applicant_male = rng.random() < 0.55
        if relationship == "子女":
            a_year = birth_year + rng.randint(20, 36)
        elif relationship == "配偶":
            a_year = birth_year + rng.randint(-3, 6) * (1 if male else -1)
            applicant_male = not male
        elif relationship == "孙子女":
            a_year = birth_year + rng.randint(44, 62)
        else:
            a_year = birth_year + rng.randint(-10, 10)
        a_year = max(1925, min(a_year, death_date.year - 18))
        a_old = a_year < 1965
        a_surname, a_given = self.person_name(applicant_male, old=a_old)
        if relationship in ("子女", "孙子女") and (male or rng.random() < 0.2):
            a_surname = surname
        p = rng.random()
        a_region = region.code if p < 0.75 else rng.choice(_OTHER_SHANGRAO) if p < 0.9 else rng.choice(_ELSEWHERE)
        a_birth = self.birth_date(a_year)

        case_row = {
            "id": case_id,
            "case_no": case_no,
            "region_id": region.id,
            "department_id": region.window_id,
            "status": CASE_REGISTERED,
            "deceased_name": surname + given,
            "deceased_id_number": self.new_id(region.code, birth, male),
            "deceased_gender": "男" if male else "女",
            "hukou_local": True,
            "hukou_address": (
                f"{region.address_prefix}{rng.choice(_TOWNS[region.code])}{rng.choice(_VILLAGES)}村"
                f"{rng.randint(1, 12)}组{rng.randint(1, 88)}号"
            ),
            "death_date": death_date,
            "death_circumstance": circumstance,
            "death_certificate_no": certificate,
            "applicant_name": a_surname + a_given,
            "applicant_id_number": self.new_id(a_region, a_birth, applicant_male),
            "applicant_phone": self.mobile(),
            "applicant_relationship": relationship,
            "registered_at": t0,
            "registered_by_id": region.user_id,
            "completed_at": None,
            "cancel_reason": None,
        }
        fact_rows = [{"case_id": case_id, "fact_id": self.fact_ids[code]} for code in facts]

        # The case's fate.
        cancel_at = cancel_reason = None
        if rng.random() < P_CANCELLED:
            cancel_at = t0 + dt.timedelta(hours=rng.uniform(1, 72))
            cancel_reason = rng.choice(_CANCEL_REASONS)
            if cancel_at > now:
                cancel_at = None
        plan = self.plan(facts)
        stuck_code = None
        if (now - t0).days > STUCK_AFTER_DAYS and rng.random() < P_STUCK and len(plan) > 1:
            stuck_code = rng.choice([i.code for i in plan if i.produces is None])
        uploaded = t0 + rng.randrange(2, 30) * MINUTE
        available = {}  # material code -> when present (None: not yet)
        late_pool = [m for m in _LATE_MATERIALS if any(m in need for i in plan for need in self.needs(i, facts))]
        if late_pool and rng.random() < P_LATE_MATERIAL:
            late_at = t0 + dt.timedelta(days=rng.uniform(1, 40))
            available[rng.choice(late_pool)] = late_at if late_at <= now else None

        tasks = []
        task_id = first_task_id
        for item in plan:
            ready = t0 if item.produces else uploaded
            for need in self.needs(item, facts):
                best = None
                for code in need:
                    at = available.get(code) if code in self.producers else available.get(code, uploaded)
                    if at is not None and (best is None or at < best):
                        best = at
                if best is None:
                    ready = None
                    break
                ready = max(ready, best)
            task = self.task(task_id, case_id, region, item, t0, ready, item.code == stuck_code)
            if cancel_at is not None and (task["finished_at"] is None or task["finished_at"] > cancel_at):
                self.cancel_task(task, cancel_at, cancel_reason)
            if item.produces and task["status"] == COMPLETED:
                available[item.produces] = task["finished_at"]
            tasks.append(task)
            task_id += 1

        states = {t["status"] for t in tasks}
        if cancel_at is not None:
            case_row["status"] = CASE_CANCELLED
            case_row["cancel_reason"] = cancel_reason
        elif states <= {COMPLETED, REJECTED}:
            case_row["status"] = CASE_COMPLETED
            case_row["completed_at"] = max(t["finished_at"] for t in tasks)
        elif states - {WAITING, READY}:
            case_row["status"] = CASE_IN_PROGRESS
        return case_row, fact_rows, tasks

    @staticmethod
    def cancel_task(task, cancel_at, reason):
        """A task still open when its case is cancelled is closed as rejected, saying why."""
        task.update(
            status=REJECTED, finished_at=cancel_at, result_note=_CANCEL_NOTE.format(reason),
            payout_amount=None, payout_expected_date=None, version=task["version"] + 1,
        )
        if task["accepted_at"] is not None and task["accepted_at"] > cancel_at:
            task["accepted_at"] = None
        if task["ready_at"] is not None and task["ready_at"] > cancel_at:
            task["ready_at"] = task["deadline"] = None

    # one task

    def task(self, task_id, case_id, region, item, created_at, ready, stuck):
        rng, now = self.rng, self.now
        department_id = region.departments.get(item.department_code)
        if department_id is None:
            raise SetupError(f"{region.name} has no department {item.department_code} for item {item.code}.")
        row = {
            "id": task_id,
            "case_id": case_id,
            "item_id": item.id,
            "department_id": department_id,
            "status": WAITING,
            "created_at": created_at,
            "ready_at": None,
            "deadline": None,
            "accepted_at": None,
            "finished_at": None,
            "result_note": None,
            "payout_amount": None,
            "payout_expected_date": None,
            "version": 1,
        }
        if ready is None or ready > now:
            return row
        limit = item.time_limit_days
        version = 2
        if item.produces is None and rng.random() < P_SUPPLEMENT:
            asked = ready + dt.timedelta(hours=rng.uniform(1, 30))
            back = asked + dt.timedelta(days=rng.uniform(1, 12))
            if asked <= now:
                if back > now:  # the clock stopped: still waiting for the supplement
                    row.update(
                        status=SUPPLEMENT_REQUESTED, ready_at=ready, deadline=self.add_workdays(self.cst_day(ready), limit),
                        accepted_at=ready + (asked - ready) / 2 if rng.random() < 0.5 else None,
                        result_note=_SUPPLEMENT_NOTES.get(item.code, _GENERIC_SUPPLEMENT), version=version + 1,
                    )
                    return row
                ready, version = back, version + 2  # the supplement arrived: ready again
        ready_day = self.cst_day(ready)
        deadline = self.add_workdays(ready_day, limit)
        row.update(ready_at=ready, deadline=deadline, status=READY, version=version)

        if item.produces is not None:  # at the window, at once
            accepted = ready + rng.randrange(2, 20) * MINUTE
            if rng.random() < 0.95:
                finished = accepted + rng.randrange(20, 240) * MINUTE
            else:
                finished = self.utc_at(ready_day + DAY, 8 * 60 + rng.randrange(180))
        else:
            if rng.random() < 0.7:
                accepted = self.office_time(ready + rng.randrange(5, 180) * MINUTE)
            else:
                accepted = self.utc_at(self.add_workdays(ready_day, rng.randint(1, 2)), OFFICE_OPEN + rng.randrange(480))
            p = rng.random()
            days = limit + rng.randint(1, 6) if p < P_LATE else rng.randint(min(1, limit), limit)
            finished = self.utc_at(self.add_workdays(ready_day, days), OFFICE_OPEN + rng.randrange(540))
            if finished <= accepted:
                finished = accepted + rng.randrange(5, 120) * MINUTE
        if stuck:
            finished = None
            if rng.random() < 0.5:
                accepted = None
        if finished is not None and finished <= now:
            row.update(accepted_at=accepted, finished_at=finished, version=version + 2)
            if item.produces is None and rng.random() < P_REJECTED and item.code in _REJECTED_NOTES:
                row.update(status=REJECTED, result_note=rng.choice(_REJECTED_NOTES[item.code]))
            else:
                row.update(status=COMPLETED, result_note=_COMPLETED_NOTES.get(item.code))
                if item.payout_days is not None:
                    low, high = _PAYOUTS.get(item.code, (500, 20000))
                    row["payout_amount"] = Decimal(rng.randrange(low * 100, high * 100)) / 100
                    row["payout_expected_date"] = self.add_workdays(self.cst_day(finished), item.payout_days)
        elif accepted is not None and accepted <= now:
            row.update(status=ACCEPTED, accepted_at=accepted, version=version + 1)
        return row


def _registration_times(rng, count, months, now):
    """``count`` registration moments (naive UTC) over the last ``months`` months, more
    in winter, during the funeral home's hours (7:30–19:00 CST, every day), sorted."""
    span_days = max(1, round(months * 365.25 / 12))
    today = (now + CST_OFFSET).date()
    first = today - dt.timedelta(days=span_days - 1)
    times = []
    while len(times) < count:
        day = first + dt.timedelta(days=rng.randrange(span_days))
        # Deaths peak in winter: accept a day with a weight of 0.75–1.25.
        if rng.random() * 1.25 > 1 + 0.25 * _winter(day):
            continue
        at = _Generator.utc_at(day, 7 * 60 + 30 + rng.randrange(690)) + dt.timedelta(seconds=rng.randrange(60))
        if at >= now:
            continue
        times.append(at)
    times.sort()
    return times


def _winter(day):
    return math.cos(2 * math.pi * (day.timetuple().tm_yday - 15) / 365.25)


def _reserve_case_numbers(session, wanted):
    """Reserve ``wanted[(region_id, year)]`` numbers per region and year; the first
    number after the last one given so far, per key."""
    starts = {}
    for (region_id, year), n in sorted(wanted.items()):
        seq = (
            session.query(CaseNumberSequence).filter_by(region_id=region_id, year=year)
            .with_for_update().one_or_none()
        )
        if seq is None:
            seq = CaseNumberSequence(region_id=region_id, year=year, last_number=0)
            session.add(seq)
        starts[(region_id, year)] = seq.last_number + 1
        seq.last_number += n
    session.commit()
    return starts


def _fix_sequences(session):
    """PostgreSQL: the id sequences after rows were inserted with explicit ids."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in ('"case"', "task"):
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 1), "
            f"EXISTS (SELECT 1 FROM {table}))"
        ))


def _analyze(session):
    """PostgreSQL: fresh planner statistics after a bulk load, rather than waiting for
    autovacuum (stale estimates make the planner pick sequential scans and JIT)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text('ANALYZE "case", task, case_fact, case_number_sequence'))
        session.commit()


def generate(count, months=24, random_seed=20211012, progress=None, now=None):
    """Create ``count`` synthetic cases with their facts and tasks; returns
    ``{"cases": n, "tasks": m}``. ``now`` (naive UTC) defaults to the current time."""
    if count <= 0:
        return {"cases": 0, "tasks": 0}
    session = db.session
    now = now or utcnow()
    items, fact_ids = _load_catalogue(session)
    regions = _load_regions(session)
    calendar = load_calendar(session)
    next_case_id = (session.scalar(select(func.max(Case.id))) or 0) + 1
    next_task_id = (session.scalar(select(func.max(Task.id))) or 0) + 1
    used_ids = set(session.scalars(select(Case.deceased_id_number)))
    used_ids.update(session.scalars(select(Case.applicant_id_number)))
    session.commit()

    # A second run with the same seed makes other people, still deterministically.
    rng = random.Random(f"{random_seed}/{next_case_id}")
    times = _registration_times(rng, count, months, now)
    shares = [r.share for r in regions]
    chosen = rng.choices(regions, weights=shares, k=count)
    keys = [(region.id, (at + CST_OFFSET).year) for region, at in zip(chosen, times, strict=True)]
    wanted = {}
    for key in keys:
        wanted[key] = wanted.get(key, 0) + 1
    numbers = _reserve_case_numbers(session, wanted)

    generator = _Generator(rng, now, calendar, items, fact_ids, used_ids)
    case_table, task_table = Case.__table__, Task.__table__
    made_cases = made_tasks = 0
    for start in range(0, count, BATCH_CASES):
        case_rows, fact_rows, task_rows = [], [], []
        for k in range(start, min(start + BATCH_CASES, count)):
            region, at, key = chosen[k], times[k], keys[k]
            case_no = f"{region.code}-{key[1]}-{numbers[key]:06d}"
            numbers[key] += 1
            case_row, facts, tasks = generator.case(next_case_id, case_no, region, at, next_task_id)
            case_rows.append(case_row)
            fact_rows.extend(facts)
            task_rows.extend(tasks)
            next_case_id += 1
            next_task_id += len(tasks)
        try:
            session.execute(insert(case_table), case_rows)
            if fact_rows:
                session.execute(insert(case_fact), fact_rows)
            if task_rows:
                session.execute(insert(task_table), task_rows)
            _fix_sequences(session)
            session.commit()
        except Exception:
            session.rollback()
            raise
        made_cases += len(case_rows)
        made_tasks += len(task_rows)
        if progress is not None:
            progress(len(case_rows))
    _analyze(session)
    return {"cases": made_cases, "tasks": made_tasks}
