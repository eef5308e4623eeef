#!/usr/bin/env python3
"""Layering rules of issue 14 that module cycles do not catch.

    python3 tools/layering.py      # exit 1 on any violation (tools/modcycles.py runs it too)

1. The server's store/, ops/ and delivery/ name no HTTP-documentation crate:
   no `utoipa` (the OpenAPI schemas of their types live in
   crates/server/src/http/schema/, see its module docs).
2. Every mirror in http/schema/ (a type listed in its `mirror!` call) is a copy
   of its original's declaration: the same doc comments, serde attributes,
   fields and variants. Only `ToSchema` in the derive and `#[schema(...)]`
   attribute lines may differ, so the OpenAPI document cannot drift from the
   types the server actually sends and accepts.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "crates", "server", "src")
NO_UTOIPA = ("store", "ops", "delivery")
SCHEMA_DIR = os.path.join(SRC, "http", "schema")
MIRROR_RE = re.compile(r"^\s*(?://\s*)?(?:@\w+\s*)?(crate|switchyard_core)::([\w:]+?)::(\w+)(?:<\w+>)?\s*=>\s*(\w+)::(\w+)", re.M)
CRATE_SRC = {"crate": SRC, "switchyard_core": os.path.join(ROOT, "crates", "core", "src")}
ITEM_RE = r"^pub (?:struct|enum) {name}\b"


def rust_files(top):
    for dirpath, _, names in os.walk(top):
        for name in sorted(names):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def utoipa_uses():
    found = []
    for sub in NO_UTOIPA:
        for path in rust_files(os.path.join(SRC, sub)):
            for n, line in enumerate(open(path, encoding="utf-8"), 1):
                code = line.split("//")[0]
                if re.search(r"\butoipa\b|\bToSchema\b|#\[schema\(", code):
                    found.append(f"{os.path.relpath(path, ROOT)}:{n}: {line.strip()}")
    return found


def item(path, name):
    """The declaration of `pub struct|enum name` with its docs and attributes, normalised."""
    lines = open(path, encoding="utf-8").read().splitlines()
    for i, line in enumerate(lines):
        if re.match(ITEM_RE.format(name=name), line):
            start = i
            while start > 0 and re.match(r"\s*(//|#\[)", lines[start - 1]):
                start -= 1
            end, depth = i, 0
            while True:
                depth += lines[end].count("{") - lines[end].count("}")
                if depth == 0 and ("}" in lines[end] or lines[end].rstrip().endswith(";")):
                    break
                end += 1
            out = []
            for l in lines[start : end + 1]:
                if re.match(r"\s*#\[schema\(.*\)\]\s*$", l):
                    continue
                out.append(re.sub(r",\s*ToSchema\b|\bToSchema,\s*", "", l).strip())
            return out
    return None


def original_file(krate, module):
    """crate::store / crate::ops::kill / switchyard_core::protocol -> the files that may hold the type."""
    parts = module.split("::")
    base = os.path.join(CRATE_SRC[krate], *parts)
    # `protocol.rs` beside `protocol/` (a module with submodules) holds items too.
    files = [base + ".rs"] if os.path.exists(base + ".rs") else []
    if os.path.isdir(base):
        files += list(rust_files(base))
    return files or [base + ".rs"]


def mirror_drift():
    """(problems, number of mirrors checked)."""
    problems, checked = [], 0
    listing = open(os.path.join(SCHEMA_DIR, "mod.rs"), encoding="utf-8").read()
    for krate, module, name, mfile, mname in MIRROR_RE.findall(listing):
        mirror = item(os.path.join(SCHEMA_DIR, mfile + ".rs"), mname)
        originals = [o for o in (item(p, name) for p in original_file(krate, module) if os.path.exists(p)) if o]
        if mirror is None or not originals:
            problems.append(f"{name}: mirror or original not found ({krate}::{module}::{name} => {mfile}::{mname})")
            continue
        checked += 1
        if mirror != originals[0]:
            diff = [f"    original: {a}\n    mirror:   {b}" for a, b in zip(originals[0], mirror) if a != b]
            if not diff:
                diff = [f"    {len(originals[0])} lines vs {len(mirror)} lines"]
            problems.append(f"{name}: http/schema/{mfile}.rs differs from {krate}::{module}::{name}\n" + diff[0])
    return problems, checked


def main():
    uses = utoipa_uses()
    for u in uses:
        print("utoipa outside http: " + u)
    if uses:
        print("  -> derive only serde there; put the schema in crates/server/src/http/schema/ (see its module docs)")
    drift, checked = mirror_drift()
    for d in drift:
        print("mirror drift: " + d)
    if drift:
        print("  -> copy the changed declaration into its mirror (keep the #[schema] lines)")
    print(f"layering: {len(uses)} utoipa use(s) outside http; {checked} mirror(s) checked, {len(drift)} drift(s)")
    return 1 if uses or drift else 0


if __name__ == "__main__":
    sys.exit(main())
