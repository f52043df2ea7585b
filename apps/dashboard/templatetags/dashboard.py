"""How the dashboard writes its figures; static/dashboard/dashboard.js writes them the same."""

from django import template

register = template.Library()

NONE = "—"


@register.filter
def per_second(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


@register.filter
def percent(value: float | None) -> str:
    return NONE if value is None else f"{value * 100:.1f} %"


@register.filter
def duration(seconds: int | None) -> str:
    """3 s, 4 min, 2 h, 5 d: the largest unit that fits."""
    if seconds is None:
        return NONE
    for unit, size in (("d", 86_400), ("h", 3_600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"
