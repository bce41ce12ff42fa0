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

#: Sales reps (客户经理) as their system logins: the rep of ``REGIONS[i]`` is ``OWNERS[i]``.
OWNERS: tuple[str, ...] = (
    "liu.yang", "chen.jing", "wang.fang", "li.na", "zhang.wei",
    "wang.lei", "li.qiang", "zhao.min", "huang.li", "zhou.jie",
    "wu.ting", "xu.hao", "sun.li", "ma.jun", "zhu.hong",
    "hu.bin", "guo.xin", "he.yan", "lin.feng", "luo.dan",
)  # fmt: skip

#: The reps' names as colleagues write them, in the order of ``OWNERS``.
OWNER_NAMES: tuple[str, ...] = (
    "刘洋", "陈静", "王芳", "李娜", "张伟",
    "王磊", "李强", "赵敏", "黄丽", "周杰",
    "吴婷", "徐浩", "孙丽", "马俊", "朱红",
    "胡斌", "郭鑫", "何艳", "林峰", "罗丹",
)  # fmt: skip

#: Sales regions (大区): name, the manager's login, and the provinces of the team's reps. A
#: rep helps out in the next province of the same region, so a manager's team owns exactly
#: the customers of the region's provinces.
TEAMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("华东大区", "manager_east", ("江苏", "山东", "浙江", "上海", "安徽")),
    ("华北大区", "manager_north", ("北京", "天津", "河北", "辽宁")),
    ("华南大区", "manager_south", ("广东", "福建", "广西")),
    ("华中大区", "manager_central", ("河南", "湖北", "湖南", "江西")),
    ("西部大区", "manager_west", ("四川", "重庆", "陕西", "云南")),
)

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

#: What a rep writes down after a follow-up, by kind (visit, call, email, meeting). No ASCII
#: comma: the demo's CSV files are written unquoted.
FOLLOW_UP_NOTES: tuple[tuple[str, ...], ...] = (
    (
        "拜访采购负责人，沟通下季度备货计划",
        "门店巡查，陈列与库存正常",
        "上门沟通春节备货与促销方案",
        "拜访老板，了解竞品价格动态",
        "实地查看仓储条件，建议调整订货频次",
    ),
    (
        "电话确认回款进度",
        "电话沟通补货需求",
        "电话回访上批到货情况",
        "电话通知新品上市与价格政策",
        "电话跟进对账差异",
    ),
    (
        "邮件发送新品报价单",
        "邮件发送月度对账单",
        "邮件确认下月订货计划",
        "邮件发送促销活动方案",
    ),
    (
        "季度业务回顾会议",
        "年度合作框架洽谈",
        "联合营销方案讨论会",
        "供应链协同会议，讨论直送比例",
    ),
)

#: Complaints (投诉) as customers voice them.
COMPLAINTS: tuple[str, ...] = (
    "配送延迟两天，影响门店上架",
    "部分批次外包装破损",
    "发票抬头开错，要求重开",
    "临期产品比例偏高",
    "促销物料未按时到位",
    "对账单金额与订单不符",
    "客服响应慢，问题拖了一周",
    "新品铺货支持不足",
)
