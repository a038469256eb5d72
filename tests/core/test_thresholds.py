from __future__ import annotations

import pytest

from ecrscan.core.severity import Breach, Severity
from ecrscan.core.thresholds import ThresholdError, Thresholds, parse_limit

C, H, M, L, I, U, T = (  # noqa: E741 - one letter per severity
    Severity.CRITICAL,
    Severity.HIGH,
    Severity.MEDIUM,
    Severity.LOW,
    Severity.INFORMATIONAL,
    Severity.UNDEFINED,
    Severity.UNTRIAGED,
)
DEFAULTS = {
    "CRITICAL": 0,
    "HIGH": 0,
    "MEDIUM": 0,
    "LOW": 0,
    "INFORMATIONAL": None,
    "UNDEFINED": None,
    "UNTRIAGED": None,
}


def test_defaults():
    assert Thresholds().describe() == DEFAULTS
    assert Thresholds.from_env({}).describe() == DEFAULTS


@pytest.mark.parametrize(
    ("environ", "changed"),
    [
        ({"CRITICAL": "3"}, {"CRITICAL": 3}),
        ({"HIGH": "5", "MEDIUM": "10", "LOW": "100"}, {"HIGH": 5, "MEDIUM": 10, "LOW": 100}),
        ({"LOW": "off"}, {"LOW": None}),
        ({"MEDIUM": " 7 "}, {"MEDIUM": 7}),
        ({"HIGH": ""}, {}),  # empty: the default stays
        ({"INFORMATIONAL": "0", "UNTRIAGED": "0"}, {}),  # not variables of the old Lambda
    ],
)
def test_from_env(environ, changed):
    assert Thresholds.from_env(environ).describe() == {**DEFAULTS, **changed}


@pytest.mark.parametrize("value", ["-1", "many", "1.5", "2x"])
def test_from_env_invalid_names_the_variable(value):
    with pytest.raises(ThresholdError, match="HIGH environment variable"):
        Thresholds.from_env({"HIGH": value})


@pytest.mark.parametrize(
    ("specs", "changed"),
    [
        (["CRITICAL=2"], {"CRITICAL": 2}),
        (["high=1", "medium=off"], {"HIGH": 1, "MEDIUM": None}),
        (["INFORMATIONAL=10"], {"INFORMATIONAL": 10}),
        (["UNTRIAGED=0"], {"UNTRIAGED": 0}),
        (["LOW=OFF"], {"LOW": None}),
        (["LOW=3", "LOW=4"], {"LOW": 4}),  # the last one wins
    ],
)
def test_overrides(specs, changed):
    assert Thresholds().with_overrides(specs).describe() == {**DEFAULTS, **changed}


def test_overrides_apply_on_top_of_env():
    thresholds = Thresholds.from_env({"HIGH": "5"}).with_overrides(["CRITICAL=1"])
    assert thresholds.describe() == {**DEFAULTS, "CRITICAL": 1, "HIGH": 5}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("HIGH", "expected LEVEL=N or LEVEL=off"),
        ("SEVERE=1", "unknown severity"),
        ("HIGH=-1", "must be >= 0"),
        ("HIGH=lots", "expected a whole number"),
        ("HIGH=", "expected a whole number"),
        ("=1", "unknown severity"),
    ],
)
def test_invalid_overrides(spec, message):
    with pytest.raises(ThresholdError, match=message):
        Thresholds().with_overrides([spec])
    assert issubclass(ThresholdError, ValueError)


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        (C, {"CRITICAL": 0}),
        (H, {"CRITICAL": 0, "HIGH": 0}),
        (M, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0}),
        (L, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0}),
        (I, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "INFORMATIONAL": 0}),
        (U, {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 0, "LOW": 0, "INFORMATIONAL": 0, "UNDEFINED": 0}),
        (T, {name: 0 for name in DEFAULTS}),
    ],
)
def test_fail_on(level, expected):
    described = Thresholds.from_env({"CRITICAL": "9"}).fail_on(level).describe()
    assert described == {name: expected.get(name) for name in DEFAULTS}


@pytest.mark.parametrize(
    ("level", "counts", "breached"),
    [
        (H, {"HIGH": 1}, [H]),
        (H, {"MEDIUM": 50, "LOW": 9}, []),
        (M, {"MEDIUM": 1, "LOW": 9}, [M]),
        (C, {"HIGH": 3}, []),
        (L, {"CRITICAL": 1, "LOW": 1, "INFORMATIONAL": 4}, [C, L]),
    ],
)
def test_fail_on_evaluates(level, counts, breached):
    assert [b.severity for b in Thresholds().fail_on(level).evaluate(counts)] == breached


@pytest.mark.parametrize("severity", list(Severity))
@pytest.mark.parametrize("n", [0, 1, 5])
def test_n_tolerated_n_plus_one_breaches(severity, n):
    thresholds = Thresholds().with_overrides([f"{severity.value}={n}"])
    assert thresholds.evaluate({severity.value: n}) == ()
    assert thresholds.evaluate({severity.value: n + 1}) == (Breach(severity, n + 1, n),)


@pytest.mark.parametrize("severity", list(Severity))
def test_off_never_breaches(severity):
    thresholds = Thresholds().with_overrides([f"{severity.value}=off"])
    assert thresholds.evaluate({severity.value: 10_000}) == ()


def test_evaluate_orders_by_severity_and_ignores_other_keys():
    counts = {"TOTAL": 99, "LOW": 2, "CRITICAL": 1, "HIGH": 0, "INFORMATIONAL": 30}
    assert Thresholds().evaluate(counts) == (Breach(C, 1, 0), Breach(L, 2, 0))


def test_evaluate_defaults_leave_informational_undefined_untriaged_off():
    assert Thresholds().evaluate({"INFORMATIONAL": 5, "UNDEFINED": 5, "UNTRIAGED": 5}) == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", 0), ("12", 12), (" 3 ", 3), ("off", None), ("OFF", None), (" Off ", None)],
)
def test_parse_limit(text, expected):
    assert parse_limit(text) == expected


@pytest.mark.parametrize("word", ["none", "None", "disabled", "-", "no", "false", "null", "0ff"])
def test_off_is_the_only_word(word):
    """Issue 18: ``none``, ``disabled`` and ``-`` used to switch a level off silently."""
    with pytest.raises(ThresholdError, match="expected a whole number >= 0 or 'off'"):
        parse_limit(word)
    with pytest.raises(ThresholdError, match="HIGH environment variable"):
        Thresholds.from_env({"HIGH": word})
    with pytest.raises(ThresholdError, match=f"invalid threshold {word!r}"):
        Thresholds().with_overrides([f"LOW={word}"])
