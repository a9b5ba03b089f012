"""Realistic sample complaints for the demo and the benchmark.

Each sample is turned into the JSON an intake channel system would publish to `<ns>.intake`
(see `shared.contracts.intake.IntakeEnvelope`): a 12345 call-centre record for hotline calls
(the agent's summary, caller number, call id, recording) and a portal form submission for web
complaints (the citizen's own words and contact details). Names, phone numbers and e-mail
addresses are fake. `expected_category` is the first-level category code of the default
catalogue (deploy/config/catalogue.yaml); `expected_district` is the district the address or
text points to, or None.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

__all__ = ["SAMPLES", "Sample", "build_envelope", "sample_envelopes"]

# Channel systems in China log local time (UTC+8) in their own payloads.
CHINA_TIME = timezone(timedelta(hours=8), "CST")
HOTLINE_LINE = "12345"
WEB_FORM_ID = "hz12345-portal-complaint-v3"
_DEMAND_MARKER = "诉求："


@dataclass(frozen=True)
class Sample:
    """One complaint as a channel captured it, with the answer a classifier should give."""

    channel: Literal["hotline", "web"]
    text: str
    address: str | None
    name: str | None
    phone: str | None
    email: str | None
    expected_category: str
    expected_district: str | None


def _hotline(
    text: str,
    *,
    address: str | None,
    name: str | None,
    phone: str,
    category: str,
    district: str | None,
) -> Sample:
    return Sample("hotline", text, address, name, phone, None, category, district)


def _web(
    text: str,
    *,
    address: str | None,
    name: str | None,
    phone: str | None,
    email: str | None,
    category: str,
    district: str | None,
) -> Sample:
    return Sample("web", text, address, name, phone, email, category, district)


_HOTLINE_SAMPLES: tuple[Sample, ...] = (
    _hotline(
        "市民来电反映：西湖区文新街道文一西路与古墩路交叉口附近的工地连续一周夜间施工，"
        "凌晨两三点还在打桩，施工噪音很大，周边居民无法休息。"
        "诉求：请相关部门核实并制止夜间施工。",
        address="西湖区文新街道文一西路与古墩路交叉口",
        name="周先生",
        phone="13800001021",
        category="urban_construction",
        district="西湖区",
    ),
    _hotline(
        "市民来电反映：拱墅区大关街道大关西苑3幢2单元楼道里煤气味很重，已经持续半个多小时，"
        "怀疑燃气管道漏气。来电人已开窗通风，不敢按门铃和开灯。"
        "诉求：请燃气公司立即上门排查。",
        address="拱墅区大关街道大关西苑3幢2单元",
        name="刘女士",
        phone="13900002045",
        category="public_utilities",
        district="拱墅区",
    ),
    _hotline(
        "来电人称其在萧山区宁围街道一处建筑工地做木工，包工头以甲方未结款为由，"
        "拖欠其和另外三名工友共计48600元工资，春节前多次讨薪无果。"
        "诉求：要求劳动监察部门协调追讨欠薪。",
        address="萧山区宁围街道",
        name="马先生",
        phone="13800003317",
        category="labour_social_security",
        district="萧山区",
    ),
    _hotline(
        "市民来电反映：余杭区五常街道某小区自昨晚十点起停水，至今未恢复供水，"
        "整栋楼三十多户居民做饭洗漱都成问题，水务热线一直打不通。"
        "诉求：尽快恢复供水并告知停水原因。",
        address="余杭区五常街道某小区",
        name="孙女士",
        phone="18600004512",
        category="public_utilities",
        district="余杭区",
    ),
    _hotline(
        "来电人反映：今天下午在杭州东站出租车候客区乘坐浙A·T5X21出租车，"
        "司机不打表，开口一口价150元，途中还故意绕路。"
        "诉求：要求查处该驾驶员并退还多收的车费。",
        address="上城区彭埠街道杭州东站出租车候客区",
        name="吴先生",
        phone="13700005678",
        category="transport",
        district="上城区",
    ),
    _hotline(
        "市民来电称：昨天中午在拱墅区湖墅街道一家快餐店吃了盖浇饭，一家三口晚上都开始腹泻、"
        "呕吐，怀疑是食物中毒，目前已去医院就诊。"
        "诉求：要求市场监管部门检查该店后厨卫生。",
        address="拱墅区湖墅街道湖墅南路",
        name="郑女士",
        phone="13800006034",
        category="market_regulation",
        district="拱墅区",
    ),
    _hotline(
        "来电人反映：滨江区长河街道某公园每晚七点到十点都有人跳广场舞，高音喇叭声音很大，"
        "孩子在家没法学习。这已经是第三次反映了，一直没人管。"
        "诉求：请规范广场舞的时间和音量。",
        address="滨江区长河街道",
        name="何女士",
        phone="15800007719",
        category="environment",
        district="滨江区",
    ),
    _hotline(
        "来电人称其在临平区南苑街道一家服装厂工作了三年，公司一直没有给其缴纳社保。"
        "上个月在车间受伤，公司拒绝为其申请工伤认定。"
        "诉求：要求公司补缴社保，并协助办理工伤认定。",
        address="临平区南苑街道",
        name="黄先生",
        phone="13600008820",
        category="labour_social_security",
        district="临平区",
    ),
    _hotline(
        "来电人反映：其父亲住在富阳区富春街道一家民办养老院，护工态度恶劣，饭菜常常是冷的，"
        "老人身上多次出现不明淤青，院方不给解释。"
        "诉求：请民政部门调查该养老院的服务情况。",
        address="富阳区富春街道",
        name="林女士",
        phone="13900009136",
        category="civil_affairs",
        district="富阳区",
    ),
    _hotline(
        "来电人称昨日接到冒充客服的电话，对方说其网购的快递丢失需要理赔，"
        "按要求下载会议软件并转账后被骗8000元，已到锦城派出所报案。"
        "诉求：希望公安机关尽快追回损失。",
        address="临安区锦城街道",
        name="徐先生",
        phone="13800001452",
        category="public_security",
        district="临安区",
    ),
    _hotline(
        "来电人反映：桐庐县分水镇某村有人在基本农田上堆放建材并建设厂房，已占用耕地约两亩，"
        "村里多次制止无效。诉求：请农业农村部门核查，恢复耕地原状。",
        address="桐庐县分水镇",
        name="钟先生",
        phone="13700001908",
        category="agriculture_rural",
        district="桐庐县",
    ),
    _hotline(
        "来电人反映：昨晚带孩子到淳安县千岛湖镇一家医院急诊科，孩子高烧，"
        "等了两个多小时没有医生接诊，护士态度冷漠，只让继续排队。"
        "诉求：要求医院改进急诊服务流程。",
        address="淳安县千岛湖镇",
        name="王女士",
        phone="15900002267",
        category="health",
        district="淳安县",
    ),
    _hotline(
        "来电人反映：钱塘区下沙街道某小区5幢电梯故障频繁，今天上午又有一位老人被困电梯"
        "四十分钟，维保单位说在等配件。"
        "诉求：要求对该电梯全面检修并追究维保单位的责任。",
        address="钱塘区下沙街道某小区5幢",
        name="赵先生",
        phone="18600003580",
        category="market_regulation",
        district="钱塘区",
    ),
    _hotline(
        "来电人致电表扬接线员小陈，称上周咨询公积金提取问题时对方耐心细致、解答清楚，"
        "希望代为转达，表示感谢。",
        address=None,
        name="金女士",
        phone="13800004721",
        category="other",
        district=None,
    ),
)

_WEB_SAMPLES: tuple[Sample, ...] = (
    _web(
        "我家楼下一楼的住户在院子里私搭乱建了一间阳光房，最近又在楼顶加盖了一层彩钢棚，"
        "占用了小区公共绿地，挡住了我们的采光，下雨还往我家阳台溅水。希望城管尽快来看看！",
        address="上城区小营街道某小区",
        name="陈晓东",
        phone="13800021001",
        email="chen.xd@example.com",
        category="urban_construction",
        district="上城区",
    ),
    _web(
        "开发商承诺2023年6月交房，现在已经延期交房一年多了，合同里写的精装修标准也被偷偷降低，"
        "卫生间还墙体开裂。我们业主已经联系了媒体和记者，再不给说法就集体曝光，"
        "并委托律师起诉开发商！",
        address="萧山区北干街道",
        name="杨帆",
        phone="13900002202",
        email="yangfan2024@example.com",
        category="housing_property",
        district="萧山区",
    ),
    _web(
        "我每天早上在拱墅區拱宸橋附近的公交站等車上班，這條線路班次太少，"
        "早高峰經常要等四十分鐘，好不容易來一輛，司機還到站不停直接開走。"
        "希望交通部門增加班次，謝謝！",
        address="拱墅區拱宸橋街道",
        name="林美玲",
        phone="13600002303",
        email="meiling.lin@example.com",
        category="transport",
        district="拱墅区",
    ),
    _web(
        "我在滨江区星光大道附近一家健身房办了年卡 (prepaid membership)，花了5800元，"
        "上个月 gym 突然关门跑路了，no notice at all！想申请退卡 refund，"
        "老板电话也打不通。Please help，谢谢！",
        address="滨江区长河街道星光大道",
        name="Kevin Zhang",
        phone="13800002404",
        email="kevin.zhang@example.com",
        category="commerce_tourism",
        district="滨江区",
    ),
    _web(
        "孩子今年9月要上小学，我们家住在余杭区仓前街道，按学区划片被分到5公里外的学校，"
        "家门口的学校说学位已满。想问一下今年的入学政策是怎么规定的？积分入学的分数怎么算？",
        address="余杭区仓前街道",
        name="赵敏",
        phone="15800002505",
        email="zhaomin@example.com",
        category="education_culture",
        district="余杭区",
    ),
    _web(
        "钱塘区义蓬街道附近有家化工厂，每天晚上十点以后开始排放废气，气味刺鼻，"
        "开窗就头晕恶心，周边好几个小区的居民都深受其害。白天去看又闻不到，"
        "希望环保部门晚上突击检查！",
        address="钱塘区义蓬街道",
        name=None,
        phone="13700002606",
        email=None,
        category="environment",
        district="钱塘区",
    ),
    _web(
        "建德市新安江街道我们小区旁边开了一家黑诊所，没有任何资质和招牌，天天给老人打针输液，"
        "还私下卖什么进口疫苗，太吓人了，请卫健部门查一查。",
        address="建德市新安江街道",
        name="方丽",
        phone="13900002707",
        email="fangli@example.com",
        category="health",
        district="建德市",
    ),
    _web(
        "小区物业费年年涨，服务却越来越差：单元门禁坏了半年没人修，地下车库的灯一半不亮，"
        "保安经常不在岗。业委会跟物业公司沟通了多次，都没有结果。",
        address="西湖区翠苑街道",
        name="沈建国",
        phone="13800002808",
        email="shenjg@example.com",
        category="housing_property",
        district="西湖区",
    ),
    _web(
        "富阳区东洲街道江滨西大道人行道上有个窨井盖缺失快一周了，只放了个雪糕筒挡着，"
        "晚上这段路灯又不亮，老人小孩很容易掉下去，希望尽快修复。",
        address="富阳区东洲街道江滨西大道",
        name="郭涛",
        phone="18600002909",
        email="guotao@example.com",
        category="urban_construction",
        district="富阳区",
    ),
    _web(
        "租房合同到期退租，房东以墙面有污渍为由扣了全部押金3000元，当初签约的中介现在也不管。"
        "房子在上城区九堡街道，请问这种情况可以投诉吗？",
        address="上城区九堡街道",
        name="李思雨",
        phone="13600003010",
        email="siyu.li@example.com",
        category="housing_property",
        district="上城区",
    ),
    _web(
        "临安区於潜镇我们村这个月已经停电五六次了，每次两三个小时，电压不稳把家里的冰箱都烧坏了。"
        "供电所说线路老化要改造，到现在也没有动静。",
        address="临安区於潜镇",
        name="潘红",
        phone="13700003111",
        email=None,
        category="public_utilities",
        district="临安区",
    ),
    _web(
        "在网上报了一个千岛湖二日游的旅游团，导游一路强制购物，不买东西就甩脸色，"
        "还把我们拉到指定购物点待了三个多小时。旅行社的电话现在也打不通，请有关部门处理。",
        address="淳安县千岛湖镇",
        name="刘洋",
        phone="13900003212",
        email="liuyang.travel@example.com",
        category="commerce_tourism",
        district="淳安县",
    ),
    _web(
        "公司以业务调整为由把我辞退了，没有提前通知，也不给经济补偿，之前的加班费也一直拖着。"
        "想申请劳动仲裁，需要准备哪些材料？",
        address="西湖区蒋村街道",
        name="何磊",
        phone="15800003313",
        email="helei@example.com",
        category="labour_social_security",
        district="西湖区",
    ),
    _web(
        "我们单元楼道里常年堆满杂物，还有人从窗户拉电线飞线充电，"
        "小区消防通道也被私家车堵死了，万一起火后果不堪设想。地址：临平区东湖街道。",
        address="临平区东湖街道",
        name="蒋丽华",
        phone="13800003414",
        email="jianglh@example.com",
        category="public_security",
        district="临平区",
    ),
    _web(
        "菜市场的摊位费一年涨了一倍，我们卖菜的小本生意实在负担不起。",
        address=None,
        name=None,
        phone=None,
        email="caishichang.tanzhu@example.com",
        category="commerce_tourism",
        district=None,
    ),
)

SAMPLES: tuple[Sample, ...] = _HOTLINE_SAMPLES + _WEB_SAMPLES


def _utc(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _stable_int(*parts: object) -> int:
    """A deterministic number from the parts, so the same run gives the same payloads."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _demand(text: str) -> str | None:
    """The agent's "诉求：..." line of a hotline summary, if the summary has one."""
    if _DEMAND_MARKER not in text:
        return None
    demand = text.split(_DEMAND_MARKER, 1)[1].strip()
    return demand or None


def _hotline_envelope(sample: Sample, seq: int, run_id: str, received: datetime) -> dict:
    seed = _stable_int(run_id, seq)
    ended = received - timedelta(seconds=20 + seed % 100)  # agent wrap-up before submitting
    duration_s = 90 + (seed >> 8) % 510
    started = ended - timedelta(seconds=duration_s)
    call_id = f"{ended.astimezone(CHINA_TIME):%Y%m%d%H%M%S}-{run_id}-{seq:05d}"
    agent_id = f"A{1000 + (seed >> 20) % 9000:04d}"
    recording_ref = f"rec://{HOTLINE_LINE}/{ended.astimezone(CHINA_TIME):%Y/%m/%d}/{call_id}.wav"
    content: dict[str, Any] = {"text": sample.text}
    if (demand := _demand(sample.text)) is not None:
        content["demand"] = demand
    return {
        "type": "intake.submitted",
        "schema_version": 1,
        "channel": "hotline",
        "channel_message_id": f"CALL-{run_id}-{seq:05d}",
        "received_at": received.isoformat(),
        "complainant": {
            "name": sample.name,
            "phone": sample.phone,
            "contact_preference": "sms",
            "consent_to_contact": True,
        },
        "content": content,
        "location": {"address": sample.address},
        "attachments": [
            {"kind": "recording", "uri": recording_ref, "name": f"{call_id}.wav"},
        ],
        "channel_details": {
            "line": HOTLINE_LINE,
            "call_id": call_id,
            "agent_id": agent_id,
            "call_started_at": started.isoformat(),
            "call_ended_at": ended.isoformat(),
            "recording_ref": recording_ref,
        },
        "raw": {
            "callId": call_id,
            "hotline": HOTLINE_LINE,
            "callType": "投诉",
            "callerNo": sample.phone,
            "callerName": sample.name or "",
            "agentId": agent_id,
            "callStartTime": _local(started),
            "callEndTime": _local(ended),
            "durationSec": duration_s,
            "agentSummary": sample.text,
            "incidentAddress": sample.address or "",
            "smsNotify": "Y",
            "recordingUrl": recording_ref,
        },
    }


def _web_envelope(sample: Sample, seq: int, run_id: str, received: datetime) -> dict:
    seed = _stable_int(run_id, seq, "web")
    submission_no = f"{run_id}-{seq:05d}"
    client_ip_hash = hashlib.sha256(f"203.0.113.{seed % 254 + 1}:{run_id}".encode()).hexdigest()
    anonymous = sample.name is None
    if sample.email:
        preference = "email"
    elif sample.phone:
        preference = "phone"
    else:
        preference = "none"
    return {
        "type": "intake.submitted",
        "schema_version": 1,
        "channel": "web",
        "channel_message_id": f"WEB-{run_id}-{seq:05d}",
        "received_at": received.isoformat(),
        "complainant": {
            "name": sample.name,
            "phone": sample.phone,
            "email": sample.email,
            "anonymous": anonymous,
            "contact_preference": preference,
            "consent_to_contact": preference != "none",
        },
        "content": {"text": sample.text},
        "location": {"address": sample.address},
        "attachments": [],
        "channel_details": {"form_id": WEB_FORM_ID, "client_ip_hash": client_ip_hash[:32]},
        "raw": {
            "formId": WEB_FORM_ID,
            "submissionNo": submission_no,
            "submitTime": _local(received),
            "content": sample.text,
            "incidentAddress": sample.address or "",
            "contactName": sample.name or "",
            "contactPhone": sample.phone or "",
            "contactEmail": sample.email or "",
            "isAnonymous": "1" if anonymous else "0",
            "allowPublish": "0",
        },
    }


def build_envelope(sample: Sample, *, seq: int, run_id: str, now: datetime) -> dict:
    """The JSON-ready intake envelope a channel system would publish for `sample`.

    `seq` and `run_id` make the channel message id unique (they must be printable ASCII);
    `now` (timezone-aware) becomes the receipt time, stored in UTC.
    """
    received = _utc(now)
    sample = _person_of_round(sample, (seq - 1) // len(SAMPLES))
    if sample.channel == "hotline":
        return _hotline_envelope(sample, seq, run_id, received)
    if sample.channel == "web":
        return _web_envelope(sample, seq, run_id, received)
    raise ValueError(f"unsupported sample channel {sample.channel!r}")


def _person_of_round(sample: Sample, round_no: int) -> Sample:
    """Beyond the first pass over SAMPLES every copy comes from a different person.

    The same text from the same phone within a day is a repeat submission that intake links
    to the first ticket; bulk runs (benchmark, replica tests) want distinct complaints.
    """
    if round_no == 0:
        return sample
    phone = f"{sample.phone[:-4]}{round_no % 10000:04d}" if sample.phone else None
    email = f"r{round_no}.{sample.email}" if sample.email else None
    return replace(sample, phone=phone, email=email)


def sample_envelopes(count: int, *, run_id: str, now: datetime) -> list[dict]:
    """`count` envelopes cycling through SAMPLES; sequence numbers 1..count keep ids unique."""
    if count < 0:
        raise ValueError("count must not be negative")
    return [
        build_envelope(SAMPLES[i % len(SAMPLES)], seq=i + 1, run_id=run_id, now=now)
        for i in range(count)
    ]
