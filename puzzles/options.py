"""Options declared once: a dataclass field carries its default, its help text and how it is
typed on the command line; the flags, the defaults shown in ``--help``, ``--print-config`` and
``--config`` all come from that one declaration.

    @dataclass(frozen=True)
    class SolveIO:
        output: str = option(None, help="answers, one per puzzle", metavar="FILE", required=True)

``add_flags(parser, SolveIO)`` adds ``--output``; ``given(args, SolveIO)`` returns the declared
options the user typed (every flag defaults to ``argparse.SUPPRESS``, so "typed" and "left at
its default" stay apart); ``resolve(SolveIO, ...)`` builds the object from the declared
defaults, a config file's section and the typed flags, in that order. A value a dataclass
refuses (its ``__post_init__`` raises ``ValueError``) comes back as an ``UnmaskError`` naming
the flag, for the one-line error promise of the command line.

Nothing here imports torch; the module sits at the bottom of the layers so every package can
declare its options with it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass
from typing import Any

from puzzles.errors import UnmaskError

_KEY = "unmask.option"


@dataclass(frozen=True)
class Declared:
    """One declared option as the flag builder reads it back.

    name: the field (and the ``argparse`` dest). flag: ``--batch-size`` (None: positional).
    default: the declared default (``MISSING`` when required). parse: text -> value for the
    command line and for config files. shown: the default as ``--help`` prints it.
    """

    name: str
    flag: str | None
    default: Any
    help: str
    parse: Callable[[str], Any] | None
    choices: tuple | Callable[[], tuple] | None
    metavar: str | None
    required: bool
    shown: str | None
    nargs: str | None
    aliases: tuple[str, ...]
    switch: bool = False  # an on/off option (``bool``, or ``bool | None`` with None "auto")

    @property
    def is_bool(self) -> bool:
        return self.switch or isinstance(self.default, bool)

    def choice_list(self) -> tuple | None:
        return self.choices() if callable(self.choices) else self.choices


def option(
    default: Any = MISSING,
    *,
    help: str,
    type: Callable[[str], Any] | None = None,
    choices: Iterable | Callable[[], tuple] | None = None,
    metavar: str | None = None,
    flag: str | None = "",
    aliases: tuple[str, ...] = (),
    required: bool = False,
    shown: str | None = "",
    nargs: str | None = None,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field that is also a command-line option.

    default / factory: the value when nothing is given. help: one sentence for ``--help``
    (the default is appended: ``(default 0.01)``; ``shown`` replaces that text, None leaves it
    out). type: parses the typed text (and config values); choices: allowed values (or a
    callable giving them when the parser is built). flag: the flag (default ``--`` + the field
    name with ``-``; None: a positional argument). aliases: more flags for the same option.
    required: the flag must be typed (``--output``). nargs: as argparse's.
    """
    meta = {
        _KEY: dict(help=help, type=type, metavar=metavar, flag=flag, aliases=tuple(aliases),
                   required=required, shown=shown, nargs=nargs,
                   choices=choices if callable(choices) or choices is None else tuple(choices))
    }  # fmt: skip
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def declared(cls) -> list[Declared]:
    """The options a dataclass (class or instance) declares, in field order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get(_KEY)
        if meta is None:
            continue
        if f.default is not MISSING:
            default = f.default
        elif f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = MISSING
        flag = meta["flag"]
        if flag == "":
            flag = "--" + f.name.replace("_", "-")
        shown = meta["shown"]
        if shown == "":
            shown = None if default is MISSING or meta["required"] else _show(default)
        switch = isinstance(default, bool) or str(f.type).replace(" ", "") in ("bool|None", "bool")
        out.append(Declared(f.name, flag, default, meta["help"], meta["type"], meta["choices"],
                            meta["metavar"], meta["required"], shown, meta["nargs"],
                            meta["aliases"], switch))  # fmt: skip
    return out


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "none"
    return str(value)


def help_text(d: Declared, prefix: str = "") -> str:
    """The ``--help`` line of an option: its help and, in brackets, its default."""
    text = prefix + d.help
    return text if d.shown is None else f"{text} (default {d.shown})"


def add_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls,
    *,
    skip: Iterable[str] = (),
    only: Iterable[str] | None = None,
    prefix: dict[str, str] | None = None,
    shown: dict[str, str] | None = None,
    choices: dict[str, tuple] | None = None,
) -> list[Declared]:
    """Add one flag per option of ``cls`` (a dataclass) to ``parser`` and return what it added.

    skip / only: leave out, or keep only, these field names. prefix: text put before a help
    line (``"eb: "``). shown: replace the default shown in ``--help`` (a default that depends
    on the task or the preset). choices: the allowed values where the command knows them (a
    family's generators). Flags default to ``argparse.SUPPRESS``: read them with
    ``given``; booleans get ``--x/--no-x``.
    """
    skip = set(skip)
    keep = None if only is None else set(only)
    added = []
    for d in declared(cls):
        if d.name in skip or (keep is not None and d.name not in keep):
            continue
        if shown and d.name in shown:
            d = dataclasses.replace(d, shown=shown[d.name])
        if choices and d.name in choices:
            d = dataclasses.replace(d, choices=tuple(choices[d.name]))
        kwargs: dict[str, Any] = dict(help=help_text(d, (prefix or {}).get(d.name, "")))
        if d.flag is None:  # positional
            kwargs.update(nargs=d.nargs, metavar=d.metavar)
            if d.nargs == "?":
                kwargs["default"] = None
            parser.add_argument(d.name, type=d.parse, choices=d.choice_list(), **kwargs)
            added.append(d)
            continue
        kwargs.update(dest=d.name, default=argparse.SUPPRESS)
        if d.is_bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=d.parse, choices=d.choice_list(), metavar=d.metavar, nargs=d.nargs)
            if d.required:
                kwargs["required"] = True
        parser.add_argument(d.flag, *d.aliases, **kwargs)
        added.append(d)
    return added


def given(args: argparse.Namespace, cls, skip: Iterable[str] = ()) -> dict[str, Any]:
    """The options of ``cls`` that were typed on the command line (field name -> value);
    ``skip``: names the command declares elsewhere (its own ``--search`` list, say)."""
    present, skip = vars(args), set(skip)
    return {d.name: present[d.name] for d in declared(cls)
            if d.name in present and d.name not in skip}  # fmt: skip


def flag_of(cls, name: str) -> str:
    """How the user spells option ``name`` of ``cls`` (``--batch-size``, or the bare name of a
    positional argument)."""
    for d in declared(cls):
        if d.name == name:
            return d.flag or d.name
    return "--" + name.replace("_", "-")


def build(cls, values: dict[str, Any], *, where: str = ""):
    """``cls(**values)``; a ``ValueError`` or ``TypeError`` from the dataclass becomes an
    ``UnmaskError`` (naming ``where``, e.g. a config file, when given)."""
    try:
        return cls(**values)
    except (ValueError, TypeError) as err:
        raise UnmaskError(f"{where}: {err}" if where else str(err)) from None


def resolve(cls, typed: dict[str, Any], config: dict[str, Any] | None = None, **fixed):
    """Build ``cls`` from its declared defaults, overridden by a config section, overridden by
    the typed flags, overridden by ``fixed`` (values the command itself decides)."""
    values = {**(config or {}), **typed, **fixed}
    return build(cls, values)


# --- config files ----------------------------------------------------------------------------


def to_plain(obj: Any) -> Any:
    """A dataclass (or dict of them) as JSON-ready data; objects with a ``config()`` method (a
    sampler) give that."""
    if hasattr(obj, "config") and callable(obj.config) and not isinstance(obj, type):
        return obj.config()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    return obj


def config_json(sections: dict[str, Any]) -> str:
    """The resolved options of a command as the JSON that ``--config`` reads back."""
    return json.dumps(to_plain(sections), indent=2) + "\n"


def read_config(path: str, sections: dict[str, type], *, flag: str = "--config") -> dict:
    """{section: {field: value}} from a JSON file written by ``--print-config`` (or a training
    folder's ``config.json``), each value checked by its option's own parser. Sections that
    ``sections`` does not name are ignored; an unknown key inside a known one, a value its
    option refuses or a file that is not such JSON is an ``UnmaskError`` naming the file."""
    from puzzles.formats import check_input_file

    try:
        p = check_input_file(path)
        data = json.loads(p.read_text(encoding="utf-8"))
    except UnmaskError as err:
        raise UnmaskError(f"{flag} {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise UnmaskError(f"{flag} {path}: cannot read ({err})") from None
    except ValueError as err:
        raise UnmaskError(f"{flag} {path}: not JSON ({err})") from None
    if not isinstance(data, dict) or not any(k in data for k in sections):
        raise UnmaskError(
            f"{flag} {path}: expected a JSON object with {' or '.join(sections)} (as "
            "--print-config writes it)"
        )
    out = {}
    for name, cls in sections.items():
        part = data.get(name)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise UnmaskError(f"{flag} {path}: {name!r} must be a JSON object")
        out[name] = check_values(cls, part, f"{flag} {path}: {name}")
    return out


def check_values(cls, values: dict, where: str) -> dict:
    """Config values for ``cls``, each passed through its option's parser (so a config file
    meets the same checks as the flag); keys ``cls`` does not declare are refused."""
    decl = {d.name: d for d in declared(cls)}
    names = {f.name for f in dataclasses.fields(cls)}
    out = {}
    for key, value in values.items():
        if key not in names:
            raise UnmaskError(f"{where}: unknown option {key!r}")
        d = decl.get(key)
        out[key] = value if d is None else _check_value(d, value, where)
    return out


def _check_value(d: Declared, value: Any, where: str) -> Any:
    if value is None:
        if d.default is None:
            return None
        raise UnmaskError(f"{where}: {d.name} must not be null")
    if d.is_bool:
        if not isinstance(value, bool):
            raise UnmaskError(f"{where}: {d.name} must be true or false, got {value!r}")
        return value
    if isinstance(value, (dict, bool)):
        raise UnmaskError(f"{where}: {d.name}: unexpected value {value!r}")
    if d.nargs in ("+", "*") and isinstance(value, list):
        return [_check_value(dataclasses.replace(d, nargs=None), v, where) for v in value]
    text = ",".join(str(v) for v in value) if isinstance(value, list) else str(value)
    try:
        parsed = d.parse(text) if d.parse is not None else text
    except (argparse.ArgumentTypeError, ValueError) as err:
        raise UnmaskError(f"{where}: {d.name}: {err}") from None
    choices = d.choice_list()
    if choices is not None and parsed not in choices:
        raise UnmaskError(f"{where}: {d.name} must be one of {', '.join(map(str, choices))}")
    return parsed


def add_config_flags(parser: argparse.ArgumentParser, what: str) -> None:
    """``--config FILE`` and ``--print-config`` for a command whose options are declared."""
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"read {what} options from FILE (JSON, as --print-config writes it); flags typed "
        "on the command line override it",
    )
    parser.add_argument(
        "--print-config",
        action="store_true",
        help="print the resolved options as JSON and exit (nothing is run or written)",
    )


def add_command(sub, name: str, *, help: str, description: str | None = None, flags=(),
                func=None, config: str | None = None):  # fmt: skip
    """A subcommand whose flags all come from declarations: ``flags`` is a list of dataclasses
    (or ``(title, dataclass, add_flags keywords)`` for a titled group); ``config`` adds
    ``--config``/``--print-config`` for that command; ``func`` handles it. Returns the parser."""
    p = sub.add_parser(name, help=help, description=description or help)
    for item in flags:
        if isinstance(item, tuple):
            title, cls, kwargs = item
            add_flags(p.add_argument_group(title) if title else p, cls, **kwargs)
        elif callable(item) and not isinstance(item, type):
            item(p)  # flags made by a function of their own (the sampler's)
        else:
            add_flags(p, item)
    if config is not None:
        add_config_flags(p, config)
    if func is not None:
        p.set_defaults(func=func)
    return p
