"""Template helpers of the design system: money in 万元, shares, label badges, charts.

Charts are ECharts options built in Python and embedded as JSON text in a hidden element; the page's
script (``ui/fenji.js``) finds every ``[data-chart]`` element and draws it, so pages carry no
inline script and the content security policy stays strict.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html

from fenji.web.ui.language import active_lang

register = template.Library()

_WAN = Decimal(10000)
_YI = Decimal(100000000)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _grouped(value: Decimal, places: int) -> str:
    q = Decimal(1).scaleb(-places) if places else Decimal(1)
    return f"{value.quantize(q, rounding=ROUND_HALF_UP):,.{places}f}"


def _zh() -> bool:
    return active_lang() == "zh"


def money(value: Any, places: int = 2) -> str:
    """Money as users read it: ``12.35万元`` / ``1.20亿元`` in Chinese, ``¥123,456`` in English."""
    amount = _decimal(value)
    if amount is None:
        return "—"
    if _zh():
        if abs(amount) >= _YI:
            return f"{_grouped(amount / _YI, places)}亿元"
        if abs(amount) >= _WAN:
            return f"{_grouped(amount / _WAN, places)}万元"
        return f"{_grouped(amount, 0 if amount == amount.to_integral() else 2)}元"
    return f"¥{_grouped(amount, 0 if abs(amount) >= 100 else 2)}"


register.filter("money", money)


@register.filter
def wan(value: Any, places: int = 2) -> str:
    """A plain number of 万元 (for tables whose header says the unit)."""
    amount = _decimal(value)
    return "—" if amount is None else _grouped(amount / _WAN, int(places))


@register.filter
def pct(value: Any, places: int = 1) -> str:
    """A share (0.234) as a percentage (23.4%)."""
    share = _decimal(value)
    return "—" if share is None else f"{_grouped(share * 100, int(places))}%"


@register.filter
def num(value: Any) -> str:
    """A count with thousands separators."""
    n = _decimal(value)
    return "—" if n is None else _grouped(n, 0 if n == n.to_integral() else 2)


@register.simple_tag
def label_badge(label: Any, rank: int | None = None, source: str = "") -> str:
    """A label as a coloured badge; ``rank`` (0 = best) picks the colour, ``source`` marks a
    held or overridden label."""
    if label in (None, ""):
        return format_html('<span class="badge badge-none">{}</span>', "—")
    tone = "x" if rank is None else str(min(int(rank), 5))
    mark = {"override": " badge-override", "held": " badge-held"}.get(source, "")
    return format_html('<span class="badge badge-{}{}">{}</span>', tone, mark, label)


@register.inclusion_tag("ui/_chart.html")
def chart(
    element_id: str,
    option: dict[str, Any] | str,
    height: str = "m",
    click_url: str = "",
    label: str = "",
) -> dict[str, Any]:
    """An ECharts chart from an option (a dict, or its JSON text); ``height`` is s, m or l.
    With ``click_url`` (containing ``__NAME__``), clicking a bar or slice opens that URL for
    its name; ``label`` names the chart for screen readers.

    The option travels as escaped JSON text in a hidden element, not in a ``<script>``
    (``json_script``): HTMX drops every ``<script>`` of a swapped fragment (``allowScriptTags``
    is off), and ``ui/fenji.js`` reads the text of the element with the chart's id."""
    text = option if isinstance(option, str) else json.dumps(option, cls=DjangoJSONEncoder)
    return {
        "element_id": element_id,
        "option": text,
        "height": height,
        "click_url": click_url,
        "label": label,
    }
