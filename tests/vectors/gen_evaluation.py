#!/usr/bin/env python3
"""Writes tests/vectors/evaluation.json.

Every expected result below is written out by hand from the documented
semantics (docs/protocol.md, "Flag model and evaluation"). The Rust engine
is never run to produce them. The only computed expectations are rollout
buckets: they come from the PyPI `xxhash` package (the reference C
implementation of XXH3, independent of the Rust `xxhash-rust` crate), and
the arm is picked by the few lines in `arm()` below.

    pip install xxhash && python3 tests/vectors/gen_evaluation.py
"""

import json
import os

import xxhash

BUCKETS = 100_000
CASES = []


def bucket(salt, value):
    seed = xxhash.xxh3_64_intdigest(salt.encode("utf-8"))
    return xxhash.xxh3_64_intdigest(value.encode("utf-8"), seed=seed) % BUCKETS


def arm(variations, b):
    """First arm whose cumulative weight exceeds the bucket."""
    total = 0
    for v in variations:
        total += v["weight"]
        if b < total:
            return v["variant"]
    raise AssertionError("weights must sum to 100000")


# ---------------------------------------------------------------- builders

def ctx(key="user-1", **attrs):
    c = {"key": key}
    if attrs:
        c["attributes"] = attrs
    return c


def clause(attribute, op, values=None, negate=False):
    c = {"attribute": attribute, "op": op, "values": values if values is not None else []}
    if negate:
        c["negate"] = True
    return c


def rule(rid, clauses, serve):
    return {"id": rid, "clauses": clauses, "serve": serve}


def var(v):
    return {"variant": v}


def rollout(variations, bucket_by=None):
    r = {"variations": [{"variant": v, "weight": w} for v, w in variations]}
    if bucket_by is not None:
        r["bucket_by"] = bucket_by
    return {"rollout": r}


def bool_flag(key="flag", rules=(), fallthrough=None, on=True, targets=(), kill=None,
              off="off", salt=""):
    f = {
        "key": key, "kind": "boolean", "salt": salt, "version": 1, "on": on,
        "variants": [{"key": "on", "value": True}, {"key": "off", "value": False}],
        "off_variant": off, "targets": list(targets), "rules": list(rules),
        "fallthrough": fallthrough or var("off"),
    }
    if kill:
        f["kill"] = kill
    return f


def string_flag(key="color", rules=(), fallthrough=None, on=True, targets=(), salt=""):
    return {
        "key": key, "kind": "string", "salt": salt, "version": 3, "on": on,
        "variants": [{"key": "red", "value": "#f00"}, {"key": "green", "value": "#0f0"},
                     {"key": "blue", "value": "#00f"}],
        "off_variant": "red", "targets": list(targets), "rules": list(rules),
        "fallthrough": fallthrough or var("green"),
    }


def number_flag(key="limit"):
    return {
        "key": key, "kind": "number", "on": True, "off_variant": "low",
        "variants": [{"key": "low", "value": 10}, {"key": "high", "value": 2.5}],
        "fallthrough": var("high"),
    }


def json_flag(key="config"):
    return {
        "key": key, "kind": "json", "on": True, "off_variant": "empty",
        "variants": [{"key": "empty", "value": {}},
                     {"key": "full", "value": {"a": [1, 2], "b": {"c": None}}}],
        "fallthrough": var("full"),
    }


KILL = {"reason": "incident", "by": "alice", "at": "2025-01-01T00:00:00Z", "incident": "INC-1"}


def reason(kind, **kw):
    r = {"kind": kind}
    r.update(kw)
    return r


RULE0 = reason("RULE_MATCH", rule_index=0, rule_id="r1")
FALL = reason("FALLTHROUGH")


def add(name, flag, context, typ, default, value, variant, why, segments=(), flag_key=None, others=()):
    case = {"name": name}
    if flag is not None:
        case["flag"] = flag
    if flag_key is not None:
        case["flag_key"] = flag_key
    if others:
        case["others"] = list(others)
    case.update({"segments": list(segments), "context": context, "type": typ, "default": default,
                 "expected": {"value": value, "variant": variant, "reason": why}})
    CASES.append(case)


def op_case(name, clauses, context, matches, segments=()):
    """A boolean flag whose only rule r1 serves `on`; fallthrough `off`."""
    flag = bool_flag(rules=[rule("r1", clauses, var("on"))])
    if matches:
        add(name, flag, context, "bool", False, True, "on", RULE0, segments)
    else:
        add(name, flag, context, "bool", True, False, "off", FALL, segments)


# ---------------------------------------------------------------- operators

def operators():
    c = clause
    # equals
    op_case("equals string matches", [c("plan", "equals", ["pro"])], ctx(plan="pro"), True)
    op_case("equals string differs", [c("plan", "equals", ["pro"])], ctx(plan="free"), False)
    op_case("equals is case-sensitive", [c("plan", "equals", ["Pro"])], ctx(plan="pro"), False)
    op_case("equals negated, differs", [c("plan", "equals", ["pro"], True)], ctx(plan="free"), True)
    op_case("equals negated, equal", [c("plan", "equals", ["pro"], True)], ctx(plan="pro"), False)
    op_case("equals missing attribute", [c("plan", "equals", ["pro"])], ctx(), False)
    op_case("equals negated, missing attribute is still false",
            [c("plan", "equals", ["pro"], True)], ctx(country="SE"), False)
    op_case("equals number", [c("age", "equals", [42])], ctx(age=42), True)
    op_case("equals number written as float", [c("age", "equals", [42])], ctx(age=42.0), True)
    op_case("equals number differs", [c("age", "equals", [42])], ctx(age=43), False)
    op_case("equals number vs string attribute", [c("age", "equals", [42])], ctx(age="42"), False)
    op_case("equals string vs number attribute", [c("age", "equals", ["42"])], ctx(age=42), False)
    op_case("equals negated, mistyped attribute flips to true",
            [c("age", "equals", ["42"], True)], ctx(age=42), True)
    op_case("equals bool true", [c("beta", "equals", [True])], ctx(beta=True), True)
    op_case("equals bool differs", [c("beta", "equals", [True])], ctx(beta=False), False)
    op_case("equals bool vs string attribute", [c("beta", "equals", [True])], ctx(beta="true"), False)
    op_case("equals list attribute, one element equal",
            [c("groups", "equals", ["beta"])], ctx(groups=["alpha", "beta"]), True)
    op_case("equals list attribute, none equal",
            [c("groups", "equals", ["beta"])], ctx(groups=["alpha", "gamma"]), False)
    op_case("equals empty list attribute", [c("groups", "equals", ["beta"])], ctx(groups=[]), False)
    op_case("equals negated, empty list attribute",
            [c("groups", "equals", ["beta"], True)], ctx(groups=[]), True)
    op_case("equals on the context key", [c("key", "equals", ["user-1"])], ctx("user-1"), True)
    op_case("equals on the context key differs", [c("key", "equals", ["user-1"])], ctx("user-2"), False)
    op_case("equals empty string", [c("plan", "equals", [""])], ctx(plan=""), True)
    # in
    countries = ["DE", "FR", "NL"]
    op_case("in matches", [c("country", "in", countries)], ctx(country="DE"), True)
    op_case("in last value matches", [c("country", "in", countries)], ctx(country="NL"), True)
    op_case("in no match", [c("country", "in", countries)], ctx(country="SE"), False)
    op_case("in negated, no match", [c("country", "in", countries, True)], ctx(country="SE"), True)
    op_case("in negated, match", [c("country", "in", countries, True)], ctx(country="DE"), False)
    op_case("in missing attribute", [c("country", "in", countries)], ctx(), False)
    op_case("in negated, missing attribute", [c("country", "in", countries, True)], ctx(), False)
    mixed = [1, "1", True]
    op_case("in mixed types, number", [c("x", "in", mixed)], ctx(x=1), True)
    op_case("in mixed types, string", [c("x", "in", mixed)], ctx(x="1"), True)
    op_case("in mixed types, bool", [c("x", "in", mixed)], ctx(x=True), True)
    op_case("in mixed types, other bool", [c("x", "in", mixed)], ctx(x=False), False)
    op_case("in numbers, fraction not in set", [c("x", "in", [1, 2, 3])], ctx(x=2.5), False)
    op_case("in list attribute", [c("groups", "in", ["admin", "ops"])], ctx(groups=["dev", "ops"]), True)
    op_case("in list attribute, none", [c("groups", "in", ["admin", "ops"])], ctx(groups=["dev"]), False)
    many = ["c%02d" % i for i in range(20)]
    op_case("in large set matches", [c("cohort", "in", many)], ctx(cohort="c17"), True)
    op_case("in large set no match", [c("cohort", "in", many)], ctx(cohort="c20"), False)
    op_case("in large set negated", [c("cohort", "in", many, True)], ctx(cohort="x"), True)
    op_case("in on the context key", [c("key", "in", ["user-1", "user-2"])], ctx("user-2"), True)
    # contains / starts_with / ends_with
    for op, yes, no, val in [
        ("contains", "bob@example.com", "bob@test.org", "@example"),
        ("starts_with", "admin@corp.io", "bob@corp.io", "admin@"),
        ("ends_with", "bob@example.com", "bob@example.org", "@example.com"),
    ]:
        op_case(f"{op} matches", [c("email", op, [val])], ctx(email=yes), True)
        op_case(f"{op} no match", [c("email", op, [val])], ctx(email=no), False)
        op_case(f"{op} negated, no match", [c("email", op, [val], True)], ctx(email=no), True)
        op_case(f"{op} negated, match", [c("email", op, [val], True)], ctx(email=yes), False)
        op_case(f"{op} missing attribute", [c("email", op, [val])], ctx(), False)
        op_case(f"{op} negated, missing attribute", [c("email", op, [val], True)], ctx(), False)
        op_case(f"{op} number attribute", [c("email", op, [val])], ctx(email=5), False)
        op_case(f"{op} negated, number attribute", [c("email", op, [val], True)], ctx(email=5), True)
        op_case(f"{op} second value matches", [c("email", op, ["zzz", val])], ctx(email=yes), True)
        op_case(f"{op} list attribute", [c("email", op, [val])], ctx(email=[no, yes]), True)
        op_case(f"{op} is case-sensitive", [c("email", op, [val.upper()])], ctx(email=yes), False)
    op_case("contains empty string matches any string", [c("email", "contains", [""])], ctx(email="x"), True)
    op_case("ends_with on the context key", [c("key", "ends_with", ["-1"])], ctx("user-1"), True)
    # matches (regex)
    rx = "^[a-z]+@example\\.com$"
    op_case("matches anchored regex", [c("email", "matches", [rx])], ctx(email="bob@example.com"), True)
    op_case("matches anchored regex fails", [c("email", "matches", [rx])], ctx(email="Bob@example.com"), False)
    op_case("matches unanchored finds substring", [c("email", "matches", ["example"])],
            ctx(email="bob@example.com"), True)
    op_case("matches case-insensitive flag", [c("email", "matches", ["(?i)^bob@"])], ctx(email="BOB@x.io"), True)
    op_case("matches negated, no match", [c("email", "matches", [rx], True)], ctx(email="x@y.z"), True)
    op_case("matches negated, match", [c("email", "matches", [rx], True)], ctx(email="bob@example.com"), False)
    op_case("matches missing attribute", [c("email", "matches", [rx])], ctx(), False)
    op_case("matches negated, missing attribute", [c("email", "matches", [rx], True)], ctx(), False)
    op_case("matches number attribute", [c("n", "matches", ["^4"])], ctx(n=42), False)
    op_case("matches negated, number attribute", [c("n", "matches", ["^4"], True)], ctx(n=42), True)
    op_case("matches any of several regexes", [c("email", "matches", ["^a", "^b"])], ctx(email="bob"), True)
    op_case("matches list attribute", [c("tags", "matches", ["^v[0-9]+$"])], ctx(tags=["x", "v12"]), True)
    op_case("matches unicode", [c("name", "matches", ["^\\p{Greek}+$"])], ctx(name="αβγ"), True)
    numeric()
    semvers()
    dates()
    exists()


def numeric():
    c = clause
    table = [  # (op, operand, attribute value, expected)
        ("lt", 18, 17, True), ("lt", 18, 18, False), ("lt", 18, 17.5, True), ("lt", 0, -1, True),
        ("lte", 18, 18, True), ("lte", 18, 18.001, False),
        ("gt", 18, 19, True), ("gt", 18, 18, False), ("gt", 1.5, 1.75, True),
        ("gte", 18, 18, True), ("gte", 18, 17.999, False), ("gte", -5, -5, True),
    ]
    for op, operand, attr, want in table:
        op_case(f"{op} {operand} with {attr}", [c("age", op, [operand])], ctx(age=attr), want)
    op_case("lt any of several values", [c("age", "lt", [10, 20])], ctx(age=15), True)
    op_case("gt none of several values", [c("age", "gt", [10, 20])], ctx(age=5), False)
    op_case("lt negated", [c("age", "lt", [18], True)], ctx(age=30), True)
    op_case("lt negated, matching", [c("age", "lt", [18], True)], ctx(age=3), False)
    op_case("lt string attribute never matches", [c("age", "lt", [18])], ctx(age="17"), False)
    op_case("lt negated, string attribute", [c("age", "lt", [18], True)], ctx(age="17"), True)
    op_case("gt bool attribute", [c("age", "gt", [0])], ctx(age=True), False)
    op_case("gte list attribute", [c("age", "gte", [0])], ctx(age=["1"]), False)
    op_case("lt missing attribute", [c("age", "lt", [18])], ctx(), False)
    op_case("lt negated, missing attribute", [c("age", "lt", [18], True)], ctx(), False)


def semvers():
    c = clause
    table = [  # (op, operand, attribute, expected)
        ("semver_eq", "1.2.3", "1.2.3", True),
        ("semver_eq", "1.2.3", "1.2.4", False),
        ("semver_eq", "1.2.3", "1.2.3+build.7", True),
        ("semver_eq", "1.2.3", "v1.2.3", False),
        ("semver_eq", "1.2.3", "1.2", False),
        ("semver_eq", "1.2.3-rc.1", "1.2.3-rc.1", True),
        ("semver_lt", "2.0.0", "1.9.9", True),
        ("semver_lt", "2.0.0", "2.0.0", False),
        ("semver_lt", "2.0.0", "2.0.0-rc.1", True),
        ("semver_lt", "1.0.0-alpha.1", "1.0.0-alpha", True),
        ("semver_lte", "2.0.0", "2.0.0", True),
        ("semver_lte", "2.0.0", "2.0.1", False),
        ("semver_gt", "1.0.0", "1.0.1", True),
        ("semver_gt", "1.0.0", "1.0.0", False),
        ("semver_gt", "1.0.0", "1.0.0-alpha", False),
        ("semver_gt", "1.9.0", "1.10.0", True),
        ("semver_gte", "1.0.0-beta.2", "1.0.0-beta.11", True),
        ("semver_gte", "1.0.0-beta", "1.0.0-alpha.9", False),
        ("semver_gte", "1.0.0-alpha.beta", "1.0.0-alpha.1", False),
    ]
    for op, operand, attr, want in table:
        op_case(f"{op} {operand} with {attr}", [c("version", op, [operand])], ctx(version=attr), want)
    op_case("semver_eq any of several", [c("version", "semver_eq", ["1.0.0", "2.0.0"])],
            ctx(version="2.0.0"), True)
    op_case("semver negated, unparsable attribute", [c("version", "semver_eq", ["1.2.3"], True)],
            ctx(version="latest"), True)
    op_case("semver negated, equal", [c("version", "semver_eq", ["1.2.3"], True)], ctx(version="1.2.3"), False)
    op_case("semver number attribute", [c("version", "semver_gte", ["0.0.0"])], ctx(version=1), False)
    op_case("semver missing attribute", [c("version", "semver_gte", ["0.0.0"])], ctx(), False)
    op_case("semver negated, missing attribute", [c("version", "semver_gte", ["0.0.0"], True)], ctx(), False)


def dates():
    c = clause
    jan1 = "2024-01-01T00:00:00Z"  # = 1704067200000 ms since the epoch
    table = [  # (op, operand, attribute, expected)
        ("before", jan1, "2023-12-31T23:59:59Z", True),
        ("before", jan1, jan1, False),
        ("before", jan1, "2024-06-01T00:00:00Z", False),
        ("before", jan1, "2024-01-01T01:00:00+02:00", True),
        ("before", jan1, 1704067199000, True),
        ("before", jan1, 1704067200000, False),
        ("before", 1704067200000, "2023-12-31T23:59:59.999Z", True),
        ("after", jan1, "2024-01-01T00:00:00.001Z", True),
        ("after", jan1, jan1, False),
        ("after", jan1, "2023-01-01T00:00:00Z", False),
        ("after", jan1, "2024-01-01T00:59:00-01:00", True),
        ("after", 1704067200000, 1704067200001, True),
        ("after", 1704067200000, "2024-01-01T00:00:00Z", False),
    ]
    for op, operand, attr, want in table:
        op_case(f"{op} {operand} with {attr}", [c("created", op, [operand])], ctx(created=attr), want)
    op_case("before unparsable attribute", [c("created", "before", [jan1])], ctx(created="yesterday"), False)
    op_case("before negated, unparsable attribute", [c("created", "before", [jan1], True)],
            ctx(created="yesterday"), True)
    op_case("after bool attribute", [c("created", "after", [jan1])], ctx(created=True), False)
    op_case("after missing attribute", [c("created", "after", [jan1])], ctx(), False)
    op_case("after negated, missing attribute", [c("created", "after", [jan1], True)], ctx(), False)
    op_case("before list attribute", [c("created", "before", [jan1])],
            ctx(created=["2030-01-01T00:00:00Z", "2020-01-01T00:00:00Z"]), True)
    op_case("after any of several", [c("created", "after", ["2030-01-01T00:00:00Z", jan1])],
            ctx(created="2025-05-05T05:05:05Z"), True)


def exists():
    c = clause
    op_case("exists present", [c("plan", "exists")], ctx(plan="free"), True)
    op_case("exists missing", [c("plan", "exists")], ctx(), False)
    op_case("exists negated, missing is true", [c("plan", "exists", negate=True)], ctx(), True)
    op_case("exists negated, present", [c("plan", "exists", negate=True)], ctx(plan="free"), False)
    op_case("exists false bool is present", [c("beta", "exists")], ctx(beta=False), True)
    op_case("exists empty list is present", [c("groups", "exists")], ctx(groups=[]), True)
    op_case("exists key always present", [c("key", "exists")], ctx("anyone"), True)
    op_case("exists null attribute is missing", [c("plan", "exists")], ctx(plan=None), False)


# ---------------------------------------------------------------- segments

def seg(key, included=(), excluded=(), rules=()):
    return {"key": key, "version": 1, "included": list(included), "excluded": list(excluded),
            "rules": [{"id": f"s{i}", "clauses": cl} for i, cl in enumerate(rules)]}


def segments():
    c = clause
    beta = seg("beta-users", included=["user-1", "both"], excluded=["user-2", "both"],
               rules=[[c("country", "in", ["SE"])]])
    in_beta = [c("", "in_segment", ["beta-users"])]
    not_beta = [c("", "in_segment", ["beta-users"], True)]
    op_case("segment included key", in_beta, ctx("user-1"), True, [beta])
    op_case("segment excluded key despite matching rule", in_beta, ctx("user-2", country="SE"), False, [beta])
    op_case("segment excluded wins over included", in_beta, ctx("both"), False, [beta])
    op_case("segment rule match", in_beta, ctx("user-3", country="SE"), True, [beta])
    op_case("segment rule no match", in_beta, ctx("user-4", country="DE"), False, [beta])
    op_case("segment rule, missing attribute", in_beta, ctx("user-4"), False, [beta])
    op_case("segment negated, not in segment", not_beta, ctx("user-4", country="DE"), True, [beta])
    op_case("segment negated, included", not_beta, ctx("user-1"), False, [beta])
    op_case("segment negated, excluded", not_beta, ctx("user-2", country="SE"), True, [beta])

    two = seg("two-rules", rules=[[c("plan", "equals", ["enterprise"])],
                                  [c("country", "in", ["SE"]), c("age", "gte", [18])]])
    in_two = [c("", "in_segment", ["two-rules"])]
    op_case("segment first rule", in_two, ctx("u", plan="enterprise"), True, [two])
    op_case("segment second rule, all clauses", in_two, ctx("u", country="SE", age=18), True, [two])
    op_case("segment second rule, one clause fails", in_two, ctx("u", country="SE", age=17), False, [two])
    op_case("segment no rule", in_two, ctx("u", plan="free", country="DE"), False, [two])

    empty = seg("empty")
    op_case("segment with nothing contains nobody", [c("", "in_segment", ["empty"])], ctx("u"), False, [empty])
    op_case("in_segment any of several", [c("", "in_segment", ["empty", "beta-users"])], ctx("user-1"),
            True, [empty, beta])
    everyone = seg("everyone", rules=[[]])
    op_case("segment rule without clauses matches everyone", [c("", "in_segment", ["everyone"])],
            ctx("anyone"), True, [everyone])

    staff = seg("staff", included=["alice", "carol"])
    internal = seg("internal", excluded=["carol"], rules=[[c("", "in_segment", ["staff"])]])
    testers = seg("testers", included=["dave"], rules=[[c("", "in_segment", ["internal"])]])
    non_staff = seg("non-staff", rules=[[c("", "in_segment", ["staff"], True)]])
    nested = [staff, internal, testers, non_staff]
    in_internal = [c("", "in_segment", ["internal"])]
    in_testers = [c("", "in_segment", ["testers"])]
    op_case("nested segment member", in_internal, ctx("alice"), True, nested)
    op_case("nested segment, outer exclusion wins", in_internal, ctx("carol"), False, nested)
    op_case("nested segment, non-member", in_internal, ctx("bob"), False, nested)
    op_case("doubly nested member", in_testers, ctx("alice"), True, nested)
    op_case("doubly nested own include", in_testers, ctx("dave"), True, nested)
    op_case("doubly nested, inner exclusion", in_testers, ctx("carol"), False, nested)
    op_case("segment of negated segment, outsider", [c("", "in_segment", ["non-staff"])], ctx("bob"), True, nested)
    op_case("segment of negated segment, staff", [c("", "in_segment", ["non-staff"])], ctx("alice"), False, nested)
    op_case("segment clause ANDed with attribute clause",
            [c("", "in_segment", ["staff"]), c("plan", "equals", ["pro"])], ctx("alice", plan="free"),
            False, nested)


# ---------------------------------------------------------------- evaluation order

def order():
    c = clause
    match_pro = [c("plan", "equals", ["pro"])]
    pro = ctx("vip", plan="pro")
    tgt = [{"variant": "on", "keys": ["vip", "other"]}]
    add("killed serves off variant", bool_flag(fallthrough=var("on"), kill=KILL), pro, "bool", True,
        False, "off", reason("KILLED"))
    add("kill wins over off", bool_flag(on=False, kill=KILL), pro, "bool", True, False, "off", reason("KILLED"))
    add("kill wins over target and rule",
        bool_flag(targets=tgt, rules=[rule("r1", match_pro, var("on"))], kill=KILL),
        pro, "bool", True, False, "off", reason("KILLED"))
    add("off serves off variant", bool_flag(on=False, fallthrough=var("on")), pro, "bool", True,
        False, "off", reason("OFF"))
    add("off wins over target and rule",
        bool_flag(on=False, targets=tgt, rules=[rule("r1", match_pro, var("on"))]),
        pro, "bool", True, False, "off", reason("OFF"))
    add("off variant may be any variant", bool_flag(on=False, off="on"), pro, "bool", False, True, "on",
        reason("OFF"))
    add("string flag off", string_flag(on=False), ctx(), "string", "dflt", "#f00", "red", reason("OFF"))
    add("target match", bool_flag(targets=tgt), pro, "bool", False, True, "on", reason("TARGET_MATCH"))
    add("target second key", bool_flag(targets=tgt), ctx("other"), "bool", False, True, "on",
        reason("TARGET_MATCH"))
    add("target wins over rule",
        bool_flag(targets=[{"variant": "off", "keys": ["vip"]}], rules=[rule("r1", match_pro, var("on"))]),
        pro, "bool", True, False, "off", reason("TARGET_MATCH"))
    two_lists = [{"variant": "blue", "keys": ["k1"]}, {"variant": "red", "keys": ["k1", "k2"]}]
    add("first target list containing the key wins", string_flag(targets=two_lists), ctx("k1"), "string",
        "d", "#00f", "blue", reason("TARGET_MATCH"))
    add("later target list", string_flag(targets=two_lists), ctx("k2"), "string", "d", "#f00", "red",
        reason("TARGET_MATCH"))
    add("untargeted key falls to rules", bool_flag(targets=tgt, rules=[rule("r1", match_pro, var("on"))]),
        ctx("nobody", plan="pro"), "bool", False, True, "on", RULE0)
    add("target lists compare the context key only", bool_flag(targets=tgt), ctx("nobody", plan="vip"), "bool",
        True, False, "off", FALL)
    rules = [rule("first", [c("plan", "equals", ["pro"])], var("blue")),
             rule("second", [c("country", "in", ["SE"])], var("red")),
             rule("third", [], var("green"))]
    add("first matching rule wins", string_flag(rules=rules), ctx(plan="pro", country="SE"), "string", "d",
        "#00f", "blue", reason("RULE_MATCH", rule_index=0, rule_id="first"))
    add("second rule when first fails", string_flag(rules=rules), ctx(plan="free", country="SE"), "string",
        "d", "#f00", "red", reason("RULE_MATCH", rule_index=1, rule_id="second"))
    add("rule without clauses matches all", string_flag(rules=rules), ctx(), "string", "d", "#0f0", "green",
        reason("RULE_MATCH", rule_index=2, rule_id="third"))
    add("fallthrough variant", string_flag(fallthrough=var("blue")), ctx(), "string", "d", "#00f", "blue", FALL)
    both = [c("plan", "equals", ["pro"]), c("country", "in", ["SE", "NO"])]
    op_case("rule clauses are ANDed, all match", both, ctx(plan="pro", country="NO"), True)
    op_case("rule clauses are ANDed, one fails", both, ctx(plan="pro", country="DK"), False)
    op_case("rule clauses are ANDed, one missing", both, ctx(plan="pro"), False)
    add("on flag with no rules serves fallthrough", bool_flag(fallthrough=var("on")), ctx(), "bool", False,
        True, "on", FALL)


# ---------------------------------------------------------------- types

def types():
    add("bool asked of string flag", string_flag(), ctx(), "bool", True, True, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("string asked of bool flag", bool_flag(fallthrough=var("on")), ctx(), "string", "d", "d", None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("number asked of string flag", string_flag(), ctx(), "number", 7, 7, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("bool asked of number flag", number_flag(), ctx(), "bool", False, False, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("string asked of json flag", json_flag(), ctx(), "string", "d", "d", None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("bool asked of json flag", json_flag(), ctx(), "bool", True, True, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("type mismatch on a killed flag", bool_flag(kill=KILL), ctx(), "number", 1.5, 1.5, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("type mismatch on an off flag", string_flag(on=False), ctx(), "bool", True, True, None,
        reason("ERROR", error="TYPE_MISMATCH"))
    add("number flag", number_flag(), ctx(), "number", 0, 2.5, "high", FALL)
    add("number flag integer value", {**number_flag(), "fallthrough": var("low")}, ctx(), "number", 0, 10,
        "low", FALL)
    add("json flag", json_flag(), ctx(), "json", None, {"a": [1, 2], "b": {"c": None}}, "full", FALL)
    add("json asked of bool flag", bool_flag(fallthrough=var("on")), ctx(), "json", None, True, "on", FALL)
    add("json asked of string flag", string_flag(), ctx(), "json", None, "#0f0", "green", FALL)
    add("json asked of number flag", number_flag(), ctx(), "json", None, 2.5, "high", FALL)
    add("json asked of off flag", json_flag(), ctx(), "json", None, {}, "empty", reason("OFF"))  # patched below
    CASES[-1]["flag"]["on"] = False
    for typ, default in [("bool", True), ("string", "fallback"), ("number", 3), ("json", {"x": 1})]:
        add(f"unknown flag as {typ}", None, ctx(), typ, default, default, None, reason("FLAG_NOT_FOUND"),
            flag_key="no-such-flag")
    add("other key than the flag's", bool_flag(key="present"), ctx(), "bool", True, True, None,
        reason("FLAG_NOT_FOUND"), flag_key="absent")


# ---------------------------------------------------------------- rollouts

def rollout_case(name, flag, context, typ, default, salt, hashed, variations, kind="FALLTHROUGH", **kw):
    """`hashed` is the bucket value (None = bucket 0)."""
    b = 0 if hashed is None else bucket(salt, hashed)
    v = arm(variations, b)
    value = {f["key"]: f["value"] for f in flag["variants"]}[v]
    add(f"{name} (bucket {b})", flag, context, typ, default, value, v, reason(kind, **kw))


def rollouts():
    half = [{"variant": "on", "weight": 50_000}, {"variant": "off", "weight": 50_000}]
    f50 = bool_flag(key="rollout-50", fallthrough=rollout([("on", 50_000), ("off", 50_000)]))
    for i in range(12):
        rollout_case(f"50/50 by key user-{i}", f50, ctx(f"user-{i}"), "bool", False, "rollout-50", f"user-{i}", half)
    thirds = [{"variant": "red", "weight": 33_000}, {"variant": "green", "weight": 33_000},
              {"variant": "blue", "weight": 34_000}]
    f3 = string_flag(salt="color-salt", fallthrough=rollout([("red", 33_000), ("green", 33_000), ("blue", 34_000)]))
    for i in range(12):
        rollout_case(f"33/33/34 by key k{i}", f3, ctx(f"k{i}"), "string", "d", "color-salt", f"k{i}", thirds)
    for salt in ["alpha", "beta", "gamma"]:
        f = string_flag(salt=salt, fallthrough=rollout([("red", 33_000), ("green", 33_000), ("blue", 34_000)]))
        rollout_case(f"salt {salt} changes the bucket", f, ctx("same-user"), "string", "d", salt, "same-user", thirds)

    by = lambda attr: rollout([("red", 33_000), ("green", 33_000), ("blue", 34_000)], bucket_by=attr)
    f_org = string_flag(key="by-org", fallthrough=by("org"))
    for key, org in [("u1", "acme"), ("u2", "acme"), ("u3", "globex"), ("u4", "initech"), ("u5", "")]:
        rollout_case(f"bucket_by string org={org!r} key={key}", f_org, ctx(key, org=org), "string", "d",
                     "by-org", org, thirds)
    f_num = string_flag(key="by-num", fallthrough=by("org_id"))
    for val, text in [(12345, "12345"), (-7, "-7"), (0, "0"), (3.0, "3"), (9007199254740991, "9007199254740991")]:
        rollout_case(f"bucket_by integer {val!r}", f_num, ctx("u", org_id=val), "string", "d", "by-num", text, thirds)
    skewed = [{"variant": "red", "weight": 0}, {"variant": "green", "weight": 30_000},
              {"variant": "blue", "weight": 70_000}]
    f_skew = string_flag(key="by-skew", fallthrough=rollout([("red", 0), ("green", 30_000), ("blue", 70_000)],
                                                            bucket_by="org_id"))
    for label, attrs in [("missing", {}), ("bool", {"org_id": True}), ("list", {"org_id": ["1"]}),
                         ("fraction", {"org_id": 1.5}), ("2^53", {"org_id": 9007199254740992})]:
        rollout_case(f"bucket_by {label} gets bucket 0, first non-zero arm", f_skew, ctx("u", **attrs), "string",
                     "d", "by-skew", None, skewed)
    f_key = string_flag(key="by-key", fallthrough=by("key"))
    rollout_case("bucket_by key is the context key", f_key, ctx("k7"), "string", "d", "by-key", "k7", thirds)
    full = [{"variant": "on", "weight": 100_000}, {"variant": "off", "weight": 0}]
    f_full = bool_flag(key="full", fallthrough=rollout([("on", 100_000), ("off", 0)]))
    rollout_case("100 % arm", f_full, ctx("anyone"), "bool", False, "full", "anyone", full)
    monotonic()
    f_rule = bool_flag(key="rule-rollout", rules=[rule("r1", [clause("plan", "equals", ["pro"])],
                                                       rollout([("on", 50_000), ("off", 50_000)]))])
    for k in ["p1", "p2", "p3", "p4"]:
        rollout_case(f"rule serving a rollout, key {k}", f_rule, ctx(k, plan="pro"), "bool", False,
                     "rule-rollout", k, half, kind="RULE_MATCH", rule_index=0, rule_id="r1")


def monotonic():
    """A key inside 10 % stays inside at 20 %; one between joins at 20 %."""
    keys = [f"m{i}" for i in range(500)]
    low = next(k for k in keys if bucket("mono", k) < 10_000)
    mid = next(k for k in keys if 10_000 <= bucket("mono", k) < 20_000)
    for pct in [10, 20]:
        w = pct * 1000
        arms = [{"variant": "on", "weight": w}, {"variant": "off", "weight": 100_000 - w}]
        f = bool_flag(key="mono", fallthrough=rollout([("on", w), ("off", 100_000 - w)]))
        for k in [low, mid]:
            rollout_case(f"monotonic {pct}% key {k}", f, ctx(k), "bool", False, "mono", k, arms)


GOLDEN = [
    ("", ""), ("", "user-1"), ("flag", ""), ("flag", "user-1"), ("flag", "user-2"),
    ("new-checkout", "user-123"), ("new-checkout", "user-124"), ("rollout-50", "user-0"),
    ("color-salt", "k0"), ("by-org", "acme"), ("by-num", "12345"), ("by-num", "-7"), ("by-num", "0"),
    ("mono", "m0"), ("ünïcødé", "ключ"), ("flag", "🚀"), ("a" * 300, "b" * 1000),
    ("salt", "a"), ("salt", "ab"), ("salt", "abc"), ("salt", "abcdefghijklmnop"),
    ("salt", "x" * 16), ("salt", "x" * 17), ("salt", "x" * 128), ("salt", "x" * 129), ("salt", "x" * 240),
    ("salt", "x" * 241), ("1", "1"), ("Flag", "User-1"), ("flag ", "user-1"),
]

HASH = ("seed = xxh3_64(utf8(salt)), salt = flag.salt or the flag key when empty; "
        "bucket = xxh3_64_with_seed(utf8(value), seed) % 100000; value = context key, or the bucket_by "
        "attribute: string as is, integral number |x| < 2^53 in decimal, anything else bucket 0; "
        "the first arm whose cumulative weight exceeds the bucket wins")

DESCRIPTION = ("Switchyard evaluation vectors. Expected results were written by hand from the documented "
               "semantics (docs/protocol.md), never produced by the engine; golden buckets and rollout arms "
               "were computed with the PyPI `xxhash` package (reference C XXH3), independent of the Rust "
               "implementation. Regenerate with tests/vectors/gen_evaluation.py.")


# ------------------------------------------------------------ prerequisites
# A flag is evaluated past its off variant only when each prerequisite flag
# (in order) is unkilled, on, meets its own prerequisites and serves the
# required variant for the same context; else it serves its off variant
# with PREREQUISITE_FAILED naming the first prerequisite not met and why
# (MISSING, KILLED, OFF, PREREQUISITE_FAILED, NOT_MET, UNKNOWN_VARIANT,
# TOO_DEEP: more than 8 hops, or a loop). Killed and off come first.

def needs(*pairs):
    return [{"flag": f, "variant": v} for f, v in pairs]


def prereq_flag(key, prerequisites=(), **kw):
    f = bool_flag(key=key, fallthrough=kw.pop("fallthrough", var("on")), **kw)
    if prerequisites:
        f["prerequisites"] = list(prerequisites)
    return f


def failed(flag, cause):
    return reason("PREREQUISITE_FAILED", prerequisite=flag, cause=cause)


def prerequisites():
    a = lambda *pairs, **kw: prereq_flag("flag", needs(*pairs), **kw)
    b_on, b_off = prereq_flag("b"), prereq_flag("b", fallthrough=var("off"))
    u = ctx()
    add("prerequisite met serves as usual", a(("b", "on")), u, "bool", False, True, "on", FALL, others=[b_on])
    add("prerequisite serving another variant", a(("b", "on")), u, "bool", True, False, "off",
        failed("b", "NOT_MET"), others=[b_off])
    add("prerequisite met on its off variant value", a(("b", "off")), u, "bool", False, True, "on", FALL,
        others=[b_off])
    add("prerequisite off is not met even for its off variant", a(("b", "off")), u, "bool", True, False, "off",
        failed("b", "OFF"), others=[prereq_flag("b", on=False)])
    add("prerequisite killed", a(("b", "on")), u, "bool", True, False, "off", failed("b", "KILLED"),
        others=[prereq_flag("b", kill=KILL)])
    add("prerequisite killed is not met even for its off variant", a(("b", "off")), u, "bool", True, False,
        "off", failed("b", "KILLED"), others=[prereq_flag("b", kill=KILL)])
    add("prerequisite missing", a(("gone", "on")), u, "bool", True, False, "off", failed("gone", "MISSING"))
    add("prerequisite variant unknown", a(("b", "maybe")), u, "bool", True, False, "off",
        failed("b", "UNKNOWN_VARIANT"), others=[b_on])
    add("off before prerequisites", a(("gone", "on"), on=False), u, "bool", True, False, "off", reason("OFF"))
    add("killed before prerequisites", a(("gone", "on"), kill=KILL), u, "bool", True, False, "off",
        reason("KILLED"))
    add("prerequisites before targets", a(("b", "on"), targets=[{"variant": "on", "keys": ["user-1"]}]), u,
        "bool", True, False, "off", failed("b", "NOT_MET"), others=[b_off])
    add("targets after prerequisites met", a(("b", "on"), targets=[{"variant": "on", "keys": ["user-1"]}],
        fallthrough=var("off")), u, "bool", False, True, "on", reason("TARGET_MATCH"), others=[b_on])
    add("first prerequisite not met is named", a(("b", "on"), ("c", "on")), u, "bool", True, False, "off",
        failed("c", "NOT_MET"), others=[b_on, prereq_flag("c", fallthrough=var("off"))])
    add("prerequisites checked in order", a(("b", "on"), ("gone", "on")), u, "bool", True, False, "off",
        failed("b", "NOT_MET"), others=[b_off])
    # Per context: the prerequisite's own rules decide.
    se = rule("se", [clause("country", "equals", ["SE"])], var("on"))
    b_se = prereq_flag("b", rules=[se], fallthrough=var("off"))
    add("prerequisite met for this context", a(("b", "on")), ctx(country="SE"), "bool", False, True, "on",
        FALL, others=[b_se])
    add("prerequisite not met for this context", a(("b", "on")), ctx(country="DE"), "bool", True, False, "off",
        failed("b", "NOT_MET"), others=[b_se])
    half = [{"variant": "on", "weight": 50_000}, {"variant": "off", "weight": 50_000}]
    b_half = prereq_flag("b", fallthrough=rollout([("on", 50_000), ("off", 50_000)]))
    for i in range(4):
        k = f"user-{i}"
        met = arm(half, bucket("b", k)) == "on"
        add(f"prerequisite rollout {k} (bucket {bucket('b', k)})", a(("b", "on")), ctx(k), "bool", not met, met,
            "on" if met else "off", FALL if met else failed("b", "NOT_MET"), others=[b_half])
    # A string flag as a prerequisite of a string flag.
    color = string_flag()
    dep = string_flag(key="theme", fallthrough=var("blue"))
    dep["prerequisites"] = needs(("color", "green"))
    add("string prerequisite met", dep, u, "string", "d", "#00f", "blue", FALL, others=[color])
    dep_red = dict(dep, prerequisites=needs(("color", "red")))
    add("string prerequisite not met", dep_red, u, "string", "d", "#f00", "red", failed("color", "NOT_MET"),
        others=[color])
    chains()


def chain(n, last=None):
    """f0 needs f1 needs ... needs f<n>, each needing `on`; the flags below f0."""
    flags = [prereq_flag(f"f{i}", needs((f"f{i + 1}", "on"))) for i in range(1, n)]
    flags.append(last or prereq_flag(f"f{n}"))
    return prereq_flag("f0", needs(("f1", "on"))), list(reversed(flags))


def chains():
    u = ctx()
    top, below = chain(2)
    add("chain of two met", top, u, "bool", False, True, "on", FALL, others=below)
    top, below = chain(2, prereq_flag("f2", kill=KILL))
    add("chain with the last killed: top", top, u, "bool", True, False, "off", failed("f1", "PREREQUISITE_FAILED"),
        others=below)
    add("chain with the last killed: middle", top, u, "bool", True, False, "off", failed("f2", "KILLED"),
        others=below, flag_key="f1")
    top, below = chain(2, prereq_flag("f2", on=False))
    add("chain with the last off: top", top, u, "bool", True, False, "off", failed("f1", "PREREQUISITE_FAILED"),
        others=below)
    top, below = chain(3, prereq_flag("f3", fallthrough=var("off")))
    add("chain of three not met at the bottom", top, u, "bool", True, False, "off",
        failed("f1", "PREREQUISITE_FAILED"), others=below)
    top, below = chain(2)
    below[-1] = prereq_flag("f1", needs(("f9", "on")))
    add("chain with a missing link", top, u, "bool", True, False, "off", failed("f1", "PREREQUISITE_FAILED"),
        others=below)
    top, below = chain(8)
    add("chain of eight hops is followed", top, u, "bool", False, True, "on", FALL, others=below)
    top, below = chain(9)
    add("chain of nine hops is too deep", top, u, "bool", True, False, "off", failed("f1", "TOO_DEEP"),
        others=below)
    # A loop (the server refuses to write one) ends as too deep, never hangs.
    loop = [prereq_flag("b", needs(("flag", "on")))]
    add("prerequisite loop is too deep", prereq_flag("flag", needs(("b", "on"))), u, "bool", True, False, "off",
        failed("b", "TOO_DEEP"), others=loop)
    add("flag that is its own prerequisite is too deep", prereq_flag("flag", needs(("flag", "on"))), u, "bool",
        True, False, "off", failed("flag", "TOO_DEEP"))
    # Shared below two branches: each branch is evaluated.
    d = prereq_flag("d", kill=KILL)
    add("diamond with a killed bottom", prereq_flag("flag", needs(("b", "on"), ("c", "on"))), u, "bool", True,
        False, "off", failed("b", "PREREQUISITE_FAILED"),
        others=[d, prereq_flag("b", needs(("d", "on"))), prereq_flag("c", needs(("d", "on")))])


def main():
    operators()
    segments()
    order()
    types()
    rollouts()
    prerequisites()
    names = [c["name"] for c in CASES]
    dupes = {n for n in names if names.count(n) > 1}
    assert not dupes, dupes
    out = {
        "description": DESCRIPTION,
        "hash": HASH,
        "buckets": [{"salt": s, "value": v, "bucket": bucket(s, v)} for s, v in GOLDEN],
        "cases": CASES,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "evaluation.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"{len(CASES)} cases, {len(GOLDEN)} golden buckets -> {path}")


if __name__ == "__main__":
    main()
