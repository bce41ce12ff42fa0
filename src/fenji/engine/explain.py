"""Explanation text built in SQL, so explanations for a million customers need no Python loop.

Numbers are shown the way users read them: money in 万 and 亿 for Chinese, plain figures with a
unit for English; ratios as percentages; tenure in years. Every part is NULL-safe (a missing
value shows as an em dash) so a single missing figure never blanks the whole sentence.
"""

from __future__ import annotations

from sqlglot import exp

from fenji.engine.context import case, num, string

DASH = "—"


def _plain(value: exp.Expression, max_decimals: int = 2) -> exp.Expression:
    """A number as text with at most ``max_decimals`` decimals and no trailing zeros."""
    whens: list[tuple[exp.Expression, exp.Expression]] = []
    for d in range(max_decimals):
        rounded_d = exp.Round(this=value.copy(), decimals=num(d))
        whens.append(
            (
                exp.EQ(
                    this=exp.Round(this=value.copy(), decimals=num(max_decimals)),
                    expression=rounded_d.copy(),
                ),
                _as_text(rounded_d, d),
            )
        )
    last = _as_text(exp.Round(this=value.copy(), decimals=num(max_decimals)), max_decimals)
    return case(whens, last)


def _as_text(value: exp.Expression, decimals: int) -> exp.Expression:
    typed = exp.Cast(this=value, to=exp.DataType.build(f"DECIMAL(38, {decimals})"))
    return exp.Cast(this=typed, to=exp.DataType.build("VARCHAR"))


def concat(*parts: exp.Expression | str) -> exp.Expression:
    """Concatenate text parts; NULL parts show as a dash."""
    items: list[exp.Expression] = []
    for p in parts:
        if isinstance(p, str):
            if p:
                items.append(string(p))
        else:
            items.append(exp.Coalesce(this=p, expressions=[string(DASH)]))
    return exp.Concat(expressions=items, safe=True, coalesce=True)


def fmt(value: exp.Expression, unit: str, lang: str) -> exp.Expression:
    """``value`` as display text in ``unit`` (yuan, tonne, year, day, month, ratio, ...)."""
    v = exp.Paren(this=value.copy())
    if unit == "yuan":
        if lang == "zh":
            return case(
                [
                    (
                        exp.GTE(this=exp.Abs(this=v.copy()), expression=num(100_000_000)),
                        concat(_plain(exp.Div(this=v.copy(), expression=num(100_000_000))), "亿"),
                    ),
                    (
                        exp.GTE(this=exp.Abs(this=v.copy()), expression=num(10_000)),
                        concat(_plain(exp.Div(this=v.copy(), expression=num(10_000))), "万"),
                    ),
                ],
                concat(_plain(v), "元"),
            )
        return concat(_plain(v), " yuan")
    if unit in ("ratio", "percent"):
        scaled = exp.Mul(this=v, expression=num(100)) if unit == "ratio" else v
        return concat(_plain(scaled, 1), "%")
    suffix = {
        "tonne": ("吨", " t"),
        "year": ("年", " years"),
        "day": ("天", " days"),
        "month": ("个月", " months"),
        "count": ("", ""),
        "points": ("分", " points"),
    }.get(unit, ("", ""))
    return concat(_plain(v, 2), suffix[0] if lang == "zh" else suffix[1])


def quote(text: str) -> str:
    return f"“{text}”"
