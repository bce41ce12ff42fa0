"""Clusters: k-means groups of customers over chosen metrics, ranked by a value metric.

The clusters are fitted by a pre-pass (:mod:`fenji.engine.clusters`) and registered as a table
that layer 0 left-joins (:func:`fenji.engine.metrics.base_query`); this method turns the rank
into its label ("1" = the cluster with the highest mean value, or the name given for the rank)
and explains the cluster's profile: "1: 第1类（共4类，按 近12个月销售额 从高到低）；
类中心 近12个月销售额 68.2万、订单数 12、最近购买 30天；120 个客户，近12个月销售额 占比 45.1%；
距类中心 0.83".
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import ColumnDef, CompileContext, case, col, num, string
from fenji.engine.explain import concat
from fenji.engine.methods.common import coldef, finish, hidden, scope, show, value_of
from fenji.engine.metrics import cluster_column
from fenji.policy.dimensions import ClustersDimension


def compile(dim: str, spec: ClustersDimension, ctx: CompileContext) -> list[ColumnDef]:
    zh = ctx.lang == "zh"
    defs, _ = scope(dim, spec, ctx)
    rank = col(cluster_column(dim, "rank"))
    top = spec.k_bounds[1]
    whens = [
        (exp.EQ(this=rank.copy(), expression=num(r)), string(spec.rank_label(r)))
        for r in range(1, top + 1)
    ]
    core = hidden(dim, "core")
    defs.append(
        coldef(core, case(whens, string(spec.missing) if spec.missing is not None else None))
    )
    label = col(core)
    nxt = case(
        [
            (exp.EQ(this=rank.copy(), expression=num(r)), string(spec.rank_label(r - 1)))
            for r in range(2, top + 1)
        ]
    )
    _, vtitle, _ = value_of(spec.value, ctx)
    revenue = ctx.policy.summary.revenue or spec.value
    _, rtitle, _ = value_of(revenue, ctx)
    k = col(cluster_column(dim, "k"))
    profile: list[exp.Expression | str] = []
    titles: list[str] = []
    for i, m in enumerate(spec.metrics):
        _, title, unit = value_of(m.metric, ctx)
        titles.append(title)
        profile += ["、" if zh and i else (", " if i else ""), f"{title} "]
        profile.append(show(col(cluster_column(dim, f"c{i}")), unit, ctx))
    size = show(col(cluster_column(dim, "size")), "count", ctx)
    share = show(col(cluster_column(dim, "share")), "ratio", ctx)
    distance = show(col(cluster_column(dim, "distance")), "", ctx)
    rank_text = show(rank.copy(), "count", ctx)
    k_text = show(k, "count", ctx)
    if zh:
        parts: list[exp.Expression | str] = [
            label.copy(),
            ": 第",
            rank_text,
            "类（共",
            k_text,
            f"类，按 {vtitle} 从高到低）；类中心 ",
            *profile,
            "；",
            size,
            f" 个客户，{rtitle} 占比 ",
            share,
            "；距类中心 ",
            distance,
        ]
        missing = "、".join(titles) + " 有缺失值，未参与聚类"
    else:
        parts = [
            label.copy(),
            ": cluster ",
            rank_text,
            " of ",
            k_text,
            f" by {vtitle}, highest first; centroid ",
            *profile,
            "; ",
            size,
            f" customers, {rtitle} share ",
            share,
            "; distance to centroid ",
            distance,
        ]
        missing = "not clustered: a value is missing (" + ", ".join(titles) + ")"
    unclustered = concat(f"{spec.missing}: " if spec.missing else "", missing)
    why = case([(exp.Is(this=rank.copy(), expression=exp.Null()), unclustered)], concat(*parts))
    return defs + finish(dim, spec, ctx, label=label, why=why, next_label=nxt)
