"""The words the demo data is made of: a Chinese B2B supplier selling to a dealer network.

Kept apart from the sampling code so that the look of the data (names, regions, sales reps,
industries and their weights) can be read and changed in one place. Weights are rough shares
of a food supplier's customer base, not statistics; they only need to look plausible.
"""

from __future__ import annotations

#: Common surnames, most frequent first; company names usually start with the founder's.
SURNAMES: tuple[str, ...] = (
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周",
    "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗",
    "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
    "彭", "曾", "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡",
)  # fmt: skip

#: Characters of a trade name (字号); two distinct ones make a name such as 祥恒 or 盛泰.
TRADE_NAME_CHARS: tuple[str, ...] = (
    "祥", "恒", "盛", "泰", "瑞", "康", "鑫", "隆", "丰", "宏",
    "华", "兴", "昌", "达", "福", "源", "德", "信", "和", "顺",
    "利", "嘉", "佳", "润", "汇", "通", "聚", "鼎", "安", "永",
    "金", "旺", "益", "联", "创", "海", "天", "宇", "晟", "诚",
    "博", "远", "鸿", "荣", "辉", "明", "志", "亿", "万", "乐",
)  # fmt: skip

#: Industries with their share of customers and the legal-name suffixes that fit them.
INDUSTRIES: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("批发业", 0.28, ("商贸有限公司", "贸易有限公司", "食品批发有限公司")),
    ("零售业", 0.24, ("超市", "商贸有限公司", "便利连锁有限公司")),
    ("食品饮料", 0.14, ("食品有限公司", "食品科技有限公司")),
    ("餐饮", 0.14, ("餐饮管理有限公司", "餐饮有限公司")),
    ("电商", 0.10, ("电子商务有限公司", "网络科技有限公司")),
    ("制造业", 0.10, ("实业有限公司", "食品工业有限公司")),
)

#: Provinces with a rough weight (economic size) and a few cities used as name prefixes.
REGIONS: tuple[tuple[str, float, tuple[str, ...]], ...] = (
    ("广东", 0.11, ("广州", "深圳", "东莞", "佛山")),
    ("江苏", 0.10, ("南京", "苏州", "无锡", "常州")),
    ("山东", 0.09, ("济南", "青岛", "烟台", "潍坊")),
    ("浙江", 0.08, ("杭州", "宁波", "温州", "金华")),
    ("河南", 0.07, ("郑州", "洛阳", "南阳")),
    ("四川", 0.06, ("成都", "绵阳", "宜宾")),
    ("湖北", 0.05, ("武汉", "宜昌", "襄阳")),
    ("福建", 0.05, ("福州", "厦门", "泉州")),
    ("湖南", 0.05, ("长沙", "株洲", "岳阳")),
    ("上海", 0.05, ("上海",)),
    ("安徽", 0.04, ("合肥", "芜湖", "蚌埠")),
    ("河北", 0.04, ("石家庄", "唐山", "保定")),
    ("北京", 0.04, ("北京",)),
    ("陕西", 0.03, ("西安", "咸阳")),
    ("江西", 0.03, ("南昌", "赣州")),
    ("重庆", 0.03, ("重庆",)),
    ("辽宁", 0.03, ("沈阳", "大连")),
    ("云南", 0.02, ("昆明", "曲靖")),
    ("广西", 0.02, ("南宁", "柳州")),
    ("天津", 0.01, ("天津",)),
)

#: Sales reps (客户经理) as their system logins; each covers about one province.
OWNERS: tuple[str, ...] = (
    "liu.yang", "chen.jing", "wang.fang", "li.na", "zhang.wei",
    "wang.lei", "li.qiang", "zhao.min", "huang.li", "zhou.jie",
    "wu.ting", "xu.hao", "sun.li", "ma.jun", "zhu.hong",
    "hu.bin", "guo.xin", "he.yan", "lin.feng", "luo.dan",
)  # fmt: skip

#: Company scale, largest first; assigned from the customer's value with some noise.
SCALES: tuple[str, ...] = ("大型", "中型", "小型")

#: Industry influence as sales teams record it, strongest first (S1's attribute).
INFLUENCE_LEADER = "行业龙头"
INFLUENCE_BRAND = "知名品牌"
INFLUENCE_SOME = "有一定影响力"
INFLUENCE_SME = "中小型企业"
INFLUENCE_NEW = "新进入企业"
INFLUENCES: tuple[str, ...] = (
    INFLUENCE_LEADER,
    INFLUENCE_BRAND,
    INFLUENCE_SOME,
    INFLUENCE_SME,
    INFLUENCE_NEW,
)

#: The supplier's two business lines: dairy (乳品) and snacks (休闲食品).
BUSINESS_LINES: tuple[str, ...] = ("乳品", "休闲")

#: Channels of an order: shipped by the supplier itself or through a distributor.
CHANNELS: tuple[str, ...] = ("direct", "distributor")

#: Relative order volume per calendar month (Jan..Dec): stocking before the Spring Festival,
#: a lull after it, and a second peak before the Mid-Autumn Festival and National Day.
MONTH_FACTORS: tuple[float, ...] = (
    1.35, 0.70, 0.90, 0.90, 0.95, 1.00, 0.90, 1.00, 1.25, 1.05, 1.05, 1.25,
)  # fmt: skip

#: Relative order volume per weekday (Mon..Sun): offices order on working days.
WEEKDAY_FACTORS: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0, 0.55, 0.25)

#: Score event items (S4) with their share of events and the points they carry.
#: Points are drawn from the listed values with the listed probabilities.
SCORE_ITEMS: tuple[tuple[str, float, tuple[int, ...], tuple[float, ...]], ...] = (
    ("market_suggestion", 0.40, (1, 2, 3, 4, 5), (0.35, 0.30, 0.20, 0.10, 0.05)),
    ("anti_counterfeit_report", 0.15, (1, 2, 3, 4, 5), (0.30, 0.30, 0.20, 0.12, 0.08)),
    ("late_delivery_complaint", 0.40, (-1, -2, -3), (0.60, 0.30, 0.10)),
    ("refused_inventory_audit", 0.05, (0,), (1.0,)),
)
#: The item that is a red line: the month's rating is the lowest grade whatever the score.
RED_LINE_ITEM = "refused_inventory_audit"
