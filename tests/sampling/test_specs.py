"""Sampler registry and the sampler-list mini syntax of ``unmask bench --samplers``."""

from __future__ import annotations

import pytest

from puzzles.errors import UnmaskError
from sampling.samplers import (
    SAMPLERS,
    DUSSampler,
    EBSampler,
    RandomSampler,
    ThresholdSampler,
    TopKSampler,
)
from sampling.specs import make_sampler, parse_sampler_spec, parse_sampler_specs


def test_parse_the_documented_example():
    specs = parse_sampler_specs("topk:k=1,eb:gamma=0.01,proxy=confidence,dus:two_d=true")
    assert [label for label, _ in specs] == [
        "topk:k=1",
        "eb:gamma=0.01,proxy=confidence",
        "dus:two_d=true",
    ]
    topk, eb, dus = (s for _, s in specs)
    assert isinstance(topk, TopKSampler) and topk.k == 1 and topk.proxy == "entropy"
    assert isinstance(eb, EBSampler) and eb.gamma == 0.01 and eb.proxy == "confidence"
    assert isinstance(dus, DUSSampler) and dus.two_d is True


def test_parse_bare_names_and_spaces():
    specs = parse_sampler_specs(" random , threshold:tau=0.5 , dus:two-d=yes")
    assert isinstance(specs[0][1], RandomSampler) and specs[0][1].k == 1
    assert isinstance(specs[1][1], ThresholdSampler) and specs[1][1].tau == 0.5
    assert specs[2][1].two_d and specs[2][1].block is None
    label, sampler = parse_sampler_spec("eb:gamma=2")
    assert label == "eb:gamma=2" and sampler.gamma == 2.0


@pytest.mark.parametrize(
    "text,piece",
    [
        ("topk:k=1,beam:width=2", "beam:width=2"),
        ("gamma=0.1", "gamma=0.1"),
        ("eb:gamma=0.1,k=2", "k=2"),
        ("eb:gamma=abc", "eb:gamma=abc"),
        ("topk:k=1.5", "topk:k=1.5"),
        ("eb:gamma", "eb:gamma"),
        ("eb:gamma=1,gamma=2", "gamma=2"),
        ("dus:two_d=maybe", "dus:two_d=maybe"),
        ("topk:k=1,,eb", ",,"),
    ],
)
def test_parse_errors_name_the_bad_piece(text, piece):
    with pytest.raises(UnmaskError) as err:
        parse_sampler_specs(text)
    assert piece in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("text", ["eb:gamma=-1", "topk:k=0", "threshold:tau=0", "eb:proxy=loss"])
def test_parse_reports_bad_values(text):
    with pytest.raises(UnmaskError, match=text.split(":")[0]):
        parse_sampler_specs(text)


def test_make_sampler_registry():
    assert set(SAMPLERS) == {"eb", "topk", "random", "threshold", "dus"}
    s = make_sampler("eb", gamma=0.5, proxy="margin")
    assert isinstance(s, EBSampler) and s.config() == {
        "name": "eb",
        "gamma": 0.5,
        "proxy": "margin",
    }
    with pytest.raises(UnmaskError, match="unknown sampler"):
        make_sampler("beam")
    with pytest.raises(UnmaskError, match="no option 'tau'"):
        make_sampler("eb", tau=0.5)
    with pytest.raises(UnmaskError, match="gamma"):
        make_sampler("eb", gamma=-1.0)
