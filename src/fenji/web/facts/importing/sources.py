"""The file formats of follow-ups and feedback, which are imported but never graded.

Customers, orders, receivables, targets and score events are the engine's sources
(:mod:`fenji.policy.sources`): a policy computes metrics from them. Follow-ups (跟进记录) and
feedback (满意度、投诉) are kept in the system of record for the people who serve the customers,
so their formats live here, next to the import, in the same terms: canonical column names,
types, the Chinese and English labels, and the further headers companies write
(:data:`HEADER_ALIASES`). This module does not need Django, so that the demo generator can
write files in exactly these formats.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from fenji.policy.sources import Column, Source

INTERACTIONS = Source(
    name="interactions",
    zh="跟进记录",
    en="follow-ups",
    key=("interaction_id",),
    date_column="interaction_date",
    columns=(
        Column("interaction_id", "string", zh="跟进编号", en="follow-up id"),
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        # visit / call / email / meeting, or 拜访 / 电话 / 邮件 / 会议 (see INTERACTION_KINDS)
        Column("kind", "string", zh="跟进方式", en="kind"),
        Column("interaction_date", "date", zh="跟进日期", en="date"),
        # The login of the user who followed up; blank when that person has no account.
        Column("user", "string", required=False, zh="跟进人", en="user"),
        Column("note", "string", required=False, zh="备注", en="note"),
        Column("next_due", "date", required=False, zh="下次跟进日期", en="next due"),
    ),
)

FEEDBACK = Source(
    name="feedback",
    zh="客户反馈",
    en="feedback",
    key=("feedback_id",),
    date_column="feedback_date",
    columns=(
        Column("feedback_id", "string", zh="反馈编号", en="feedback id"),
        Column("customer_id", "string", zh="客户编号", en="customer id"),
        # satisfaction / complaint, or 满意度 / 投诉 (see FEEDBACK_KINDS)
        Column("kind", "string", zh="反馈类型", en="kind"),
        Column("feedback_date", "date", zh="反馈日期", en="date"),
        Column("score", "decimal", required=False, zh="满意度", en="score"),
        Column("text", "string", required=False, zh="投诉内容", en="text"),
    ),
)

#: The formats of this module, by name.
CRM_SOURCES: Final[Mapping[str, Source]] = {s.name: s for s in (INTERACTIONS, FEEDBACK)}

#: Headers seen in CRM exports and hand-made sheets, by source and canonical column (besides
#: the column's own name and its ``zh``/``en`` labels). The customer id's synonyms are the
#: catalogue's (客户编号, 客户ID, 客户代码 …).
HEADER_ALIASES: Final[Mapping[str, Mapping[str, tuple[str, ...]]]] = {
    "interactions": {
        "interaction_id": ("跟进记录编号", "记录编号", "跟进ID", "跟进记录ID", "编号"),
        "kind": ("跟进类型", "跟进形式", "方式", "类型"),
        "interaction_date": ("跟进时间", "拜访日期", "日期", "followup date"),
        "user": ("跟进人员", "拜访人", "登录名", "账号", "login"),
        "note": ("跟进内容", "沟通内容", "内容", "记录", "notes"),
        "next_due": ("下次跟进", "下次跟进时间", "下次联系日期", "next follow-up"),
    },
    "feedback": {
        "feedback_id": ("记录编号", "投诉编号", "反馈ID", "编号"),
        "kind": ("类型", "反馈方式"),
        "feedback_date": ("日期", "调查日期", "投诉日期", "反馈时间"),
        "score": ("满意度评分", "满意度得分", "评分", "分数", "得分"),
        "text": ("反馈内容", "内容", "意见", "备注", "comment"),
    },
}

#: What a follow-up's kind may be written as, by the stored value. Compared without regard
#: to case, width and spaces.
INTERACTION_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "visit": ("visit", "拜访", "上门拜访", "走访", "面访", "拜访 visit"),
    "call": ("call", "phone", "电话", "电话沟通", "电话拜访", "电话 call"),
    "email": ("email", "e-mail", "mail", "邮件", "电子邮件", "邮件 e-mail"),
    "meeting": ("meeting", "会议", "会谈", "视频会议", "会议 meeting"),
}

#: What a feedback's kind may be written as, by the stored value.
FEEDBACK_KINDS: Final[Mapping[str, tuple[str, ...]]] = {
    "satisfaction": ("satisfaction", "满意度", "满意度调查", "评分", "满意度 satisfaction"),
    "complaint": ("complaint", "投诉", "客诉", "投诉 complaint"),
}


def header_mapping(source: str) -> dict[str, str]:
    """``{header: column}`` for the aliases of ``source`` (empty for the engine's sources)."""
    aliases = HEADER_ALIASES.get(source, {})
    return {alias: column for column, names in aliases.items() for alias in names}
