"""A form from a command's input model: one field per model field, with its label, help text,
widget (a select for an enum, a checkbox for a yes/no, a date picker for a date) and default."""

from __future__ import annotations

import types
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from domain.parties import Actor
from domain.types import format_duration
from starter.services.commands_base import Kind


@dataclass(frozen=True)
class FormField:
    """One field as the template draws it; ``label`` and ``help`` are marked English."""

    name: str
    label: str
    help: str
    widget: str  # text | number | date | select | checkbox | decimal
    required: bool
    options: tuple[str, ...] = ()
    locked: bool = False
    # May be left empty (no default either): labelled "(optional)", a select offers "—".
    optional: bool = False


def _bare(annotation: Any) -> Any:
    """``X | None`` -> ``X``."""
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return annotation


def _widget(annotation: Any) -> tuple[str, tuple[str, ...]]:
    kind = _bare(annotation)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return "select", tuple(str(m.value) for m in kind)
    if kind is bool:
        return "checkbox", ()
    if kind is int:
        return "number", ()
    if kind is date:
        return "date", ()
    if kind is Decimal:
        return "decimal", ()
    return "text", ()


def _default(info: FieldInfo) -> str | None:
    value = info.default
    if value is PydanticUndefined or value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return "yes" if value else None
    return str(value)


def form_fields(kind: Kind, actor: Actor) -> list[FormField]:
    """The fields of the kind's form for this actor (its own partner locked)."""
    locked = kind.locked(actor)
    out = []
    for name, info in kind.model.model_fields.items():
        widget, options = _widget(info.annotation)
        out.append(
            FormField(
                name=name,
                label=info.title or name.replace("_", " "),
                help=info.description or "",
                widget=widget,
                required=info.is_required() and widget != "checkbox",
                options=options,
                locked=name in locked,
                optional=not info.is_required() and _default(info) is None and widget != "checkbox",
            )
        )
    return out


def initial_values(kind: Kind, actor: Actor, prefill: dict[str, str]) -> dict[str, str]:
    """The model's defaults, then what the case or query gives, then the locked fields."""
    values = {
        name: shown
        for name, info in kind.model.model_fields.items()
        if (shown := _default(info)) is not None
    }
    values.update({k: v for k, v in prefill.items() if k in kind.model.model_fields})
    values.update(kind.locked(actor))
    return values
