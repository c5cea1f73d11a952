"""Samplers by name: ``make_sampler("eb", gamma=0.1)`` and the ``--samplers`` spec strings.

A spec string lists samplers separated by commas: ``"topk:k=1,eb:gamma=0.01,proxy=confidence"``
(a ``name:key=value`` piece starts a sampler, a bare ``key=value`` adds a knob to it). Every
error is an ``UnmaskError`` naming the offending piece, for the command line.
"""

from __future__ import annotations

import math

from puzzles.errors import UnmaskError
from sampling.loop import Sampler
from sampling.samplers import SAMPLERS


def make_sampler(name: str, **kwargs) -> Sampler:
    """Build a sampler by registry name (``eb``, ``topk``, ``random``, ``threshold``, ``dus``).

    Unknown names or knobs and invalid values raise ``UnmaskError`` (this is the by-name,
    user-facing path; the classes themselves raise ``ValueError``).
    """
    cls = SAMPLERS.get(name)
    if cls is None:
        raise UnmaskError(f"unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}")
    unknown = sorted(set(kwargs) - set(cls.params))
    if unknown:
        raise UnmaskError(
            f"sampler {name!r} has no option {unknown[0]!r}; its options are {', '.join(cls.params)}"
        )
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise UnmaskError(f"sampler {name!r}: {err}") from None


_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


def _convert(kind: type, text: str):
    if kind is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is int:
        return int(text)
    if kind is float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number, got {text!r}")
        return value
    return text


def parse_sampler_specs(text: str) -> list[tuple[str, Sampler]]:
    """Parse ``"topk:k=1,eb:gamma=0.01,proxy=confidence,dus:two_d=true"`` into
    [(label, sampler), ...].

    Pieces are separated by commas. A piece with ``:`` (``name:key=value``) or a bare name
    (``topk``) starts a new sampler; a bare ``key=value`` piece adds a knob to the previous one.
    The label is the sampler's pieces joined back (``eb:gamma=0.01,proxy=confidence``).
    Any error raises ``UnmaskError`` naming the offending piece.
    """
    groups: list[tuple[str, list[str], dict]] = []  # (name, pieces, kwargs)
    for raw in text.split(","):
        piece = raw.strip()
        if not piece:
            raise UnmaskError(f"empty piece in sampler list {text!r}")
        if ":" in piece:
            name, _, rest = piece.partition(":")
            name = name.strip()
            groups.append((name, [piece], {}))
            rest = rest.strip()
            if not rest:
                continue
            kv = rest
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
            raise UnmaskError(
                f"sampler piece {piece!r}: unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}"
            )
        kinds = SAMPLERS[name].params
        if not eq or not key:
            raise UnmaskError(f"sampler piece {piece!r}: expected key=value")
        if key not in kinds:
            raise UnmaskError(
                f"sampler piece {piece!r}: {name} has no option {key!r} (options: {', '.join(kinds)})"
            )
        if key in kwargs:
            raise UnmaskError(f"sampler piece {piece!r}: {key} given twice")
        try:
            kwargs[key] = _convert(kinds[key], value)
        except ValueError as err:
            raise UnmaskError(f"sampler piece {piece!r}: bad value for {key}: {err}") from None

    out = []
    for name, pieces, kwargs in groups:
        label = ",".join(pieces)
        if name not in SAMPLERS:
            raise UnmaskError(
                f"sampler piece {pieces[0]!r}: unknown sampler {name!r}; expected one of {', '.join(SAMPLERS)}"
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
