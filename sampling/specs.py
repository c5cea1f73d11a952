"""Samplers by name: ``make_sampler("eb", gamma=0.1)``, the ``--samplers`` spec strings and the
one-sampler flags (``--sampler eb --gamma 0.1``), all read from the knobs each sampler class
declares (``sampling.samplers``): a knob's default, help and parser live in its class alone.

A spec string lists samplers separated by commas: ``"topk:k=1,eb:gamma=0.01,proxy=confidence"``
(a ``name:key=value`` piece starts a sampler, a bare ``key=value`` adds a knob to it). Every
error is an ``UnmaskError`` naming the offending piece or flag, for the command line.
"""

from __future__ import annotations

import argparse

from puzzles.errors import UnmaskError
from puzzles.options import Declared, help_text
from sampling.samplers import SAMPLERS, Sampler

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")
DEFAULT_SAMPLER = "eb"


def make_sampler(name: str, **kwargs) -> Sampler:
    """Build a sampler by registry name (``eb``, ``topk``, ``random``, ``threshold``, ``dus``).

    Unknown names or knobs and invalid values raise ``UnmaskError`` (this is the by-name,
    user-facing path; the classes themselves raise ``ValueError``).
    """
    cls = SAMPLERS.get(name)
    if cls is None:
        raise UnmaskError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
    names = [d.name for d in cls.knobs()]
    unknown = sorted(set(kwargs) - set(names))
    if unknown:
        raise UnmaskError(
            f"sampler {name!r} has no option {unknown[0]!r}; its options are {', '.join(names)}"
        )
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise UnmaskError(f"sampler {name!r}: {err}") from None


def parse_value(knob: Declared, text: str):
    """A knob's value from its text, by the knob's own declaration (booleans: true/false)."""
    if knob.is_bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    value = knob.parse(text) if knob.parse is not None else text
    choices = knob.choice_list()
    if choices is not None and value not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {text!r}")
    return value


def _knob(name: str, key: str, piece: str) -> Declared:
    if name not in SAMPLERS:
        raise UnmaskError(
            f"sampler piece {piece!r}: unknown sampler {name!r}; expected one of "
            f"{', '.join(SAMPLERS)}"
        )
    knobs = {d.name: d for d in SAMPLERS[name].knobs()}
    if key not in knobs:
        raise UnmaskError(
            f"sampler piece {piece!r}: {name} has no option {key!r} (options: {', '.join(knobs)})"
        )
    return knobs[key]


def _groups(text: str) -> list[tuple[str, list[str], dict]]:
    """(name, pieces, knob values) per sampler of a spec string."""
    groups: list[tuple[str, list[str], dict]] = []
    for raw in text.split(","):
        piece = raw.strip()
        if not piece:
            raise UnmaskError(f"empty piece in sampler list {text!r}")
        if ":" in piece:
            name, _, kv = piece.partition(":")
            groups.append((name.strip(), [piece], {}))
            kv = kv.strip()
            if not kv:
                continue
        elif "=" not in piece:
            groups.append((piece, [piece], {}))
            continue
        else:
            if not groups:
                raise UnmaskError(
                    f"sampler piece {piece!r} has no sampler before it (use name:key=value)"
                )
            groups[-1][1].append(piece)
            kv = piece
        name, _, kwargs = groups[-1]
        key, eq, value = kv.partition("=")
        key, value = key.strip().replace("-", "_"), value.strip()
        if name not in SAMPLERS:
            _knob(name, key, piece)  # says which sampler is unknown
        if not eq or not key:
            raise UnmaskError(f"sampler piece {piece!r}: expected key=value")
        knob = _knob(name, key, piece)
        if key in kwargs:
            raise UnmaskError(f"sampler piece {piece!r}: {key} given twice")
        try:
            kwargs[key] = parse_value(knob, value)
        except (ValueError, argparse.ArgumentTypeError) as err:
            raise UnmaskError(f"sampler piece {piece!r}: bad value for {key}: {err}") from None
    return groups


def parse_sampler_specs(text: str) -> list[tuple[str, Sampler]]:
    """Parse ``"topk:k=1,eb:gamma=0.01,proxy=confidence,dus:two_d=true"`` into
    [(label, sampler), ...].

    Pieces are separated by commas. A piece with ``:`` (``name:key=value``) or a bare name
    (``topk``) starts a new sampler; a bare ``key=value`` piece adds a knob to the previous one.
    The label is the sampler's pieces joined back (``eb:gamma=0.01,proxy=confidence``).
    Any error raises ``UnmaskError`` naming the offending piece.
    """
    out = []
    for name, pieces, kwargs in _groups(text):
        label = ",".join(pieces)
        if name not in SAMPLERS:
            raise UnmaskError(
                f"sampler piece {pieces[0]!r}: unknown sampler {name!r}; expected one of "
                f"{', '.join(SAMPLERS)}"
            )
        try:
            sampler = SAMPLERS[name](**kwargs)
        except ValueError as err:
            raise UnmaskError(f"sampler {label!r}: {err}") from None
        out.append((label, sampler))
    if not out:
        raise UnmaskError("no samplers given")
    return out


def parse_sampler_spec(text: str) -> tuple[str, Sampler]:
    """Parse exactly one sampler spec (``"eb:gamma=0.01,proxy=entropy"``)."""
    specs = parse_sampler_specs(text)
    if len(specs) != 1:
        raise UnmaskError(f"expected one sampler, got {len(specs)} in {text!r}")
    return specs[0]


# --- the one-sampler flags -----------------------------------------------------------------


def knob_owners() -> dict[str, list[tuple[str, Declared]]]:
    """Every knob name of any sampler -> [(sampler name, its declaration)], in registry order."""
    owners: dict[str, list[tuple[str, Declared]]] = {}
    for name, cls in SAMPLERS.items():
        for d in cls.knobs():
            owners.setdefault(d.name, []).append((name, d))
    return owners


def add_sampler_flags(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--sampler`` and one flag per knob of any sampler (``--gamma``, ``--k``, ...), made from
    the samplers' declarations; they default to "not given" (``sampler_from_args`` fills in)."""
    parser.add_argument(
        "--sampler", choices=tuple(SAMPLERS), default=argparse.SUPPRESS,
        help="which cells to reveal per forward pass: eb (entropy-bounded), topk, random, "
        f"threshold (confidence >= tau), dus (fixed dilated plan) (default {DEFAULT_SAMPLER})",
    )  # fmt: skip
    for knob, owners in knob_owners().items():
        first = owners[0][1]
        names = "/".join(n for n, _ in owners)
        shown = {d.shown for _, d in owners}
        text = help_text(first, f"{names}: ") if len(shown) == 1 else (
            f"{names}: {first.help} (default " + ", ".join(f"{n} {d.shown}" for n, d in owners)
            + ")")  # fmt: skip
        kwargs = dict(dest=knob, default=argparse.SUPPRESS, help=text)
        if first.is_bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        else:
            kwargs.update(type=first.parse, choices=first.choice_list(), metavar=first.metavar)
        parser.add_argument(first.flag, **kwargs)


def sampler_flags_given(args: argparse.Namespace) -> list[str]:
    """The sampler flags (as typed, e.g. ``--gamma``) given on the command line."""
    dests = [d for d in ("sampler", *knob_owners()) if d in vars(args)]
    return ["--" + d.replace("_", "-") for d in dests]


def sampler_from_args(args: argparse.Namespace, base: dict | None = None) -> tuple[str, Sampler]:
    """(label, Sampler) from the ``add_sampler_flags`` flags over ``base`` (a sampler's
    ``config()``, e.g. from a config file); a knob of another sampler is an error.

    The label reads like a ``--samplers`` spec with the knobs that have a value filled in
    (``eb:gamma=0.01,proxy=entropy``; a knob whose default is None or a switch shows only when
    given).
    """
    typed = vars(args)
    base = dict(base or {})
    base_name = base.pop("name", None)
    name = typed.get("sampler", base_name or DEFAULT_SAMPLER)
    if name != base_name:  # another sampler than the config's: none of its knobs apply
        base = {}
    if name not in SAMPLERS:
        raise UnmaskError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
    kwargs = {}
    for knob, owners in knob_owners().items():
        mine = [d for n, d in owners if n == name]
        if knob in typed and not mine:
            flag = "--" + knob.replace("_", "-")
            others = " or ".join(n for n, _ in owners)
            raise UnmaskError(f"{flag} applies to --sampler {others}, not {name}")
        if not mine:
            continue
        d = mine[0]
        if knob in typed:
            kwargs[knob] = typed[knob]
        elif knob in base:
            kwargs[knob] = base[knob]
        elif d.default is not None and not d.is_bool:
            kwargs[knob] = d.default
    sampler = make_sampler(name, **kwargs)
    label = name + (":" + ",".join(f"{k}={_fmt(v)}" for k, v in kwargs.items()) if kwargs else "")
    return label, sampler


def _fmt(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
