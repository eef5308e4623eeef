#!/usr/bin/env python3
"""Module dependency cycles in the workspace's crates.

An edge A -> B is recorded between two *sibling* modules (children of the same
parent) when code anywhere inside A names a path inside B (`crate::…`,
`super::…`, or a sibling name brought into scope with `use`). A cycle is a
strongly connected component of two or more siblings.

    python3 tools/modcycles.py            # list cycles; exit 1 on any not in the baseline
    python3 tools/modcycles.py --strict   # exit 1 on any cycle at all

The baseline (tools/modcycles.baseline) lists the cycles that existed when the
check was introduced; it may only shrink. It then runs tools/layering.py (no
`utoipa` in the server's store/, ops/ and delivery/; schema mirrors in
http/schema/ equal to their originals), so that one command checks the layering. Why hand-written: the cargo tools
that draw module graphs (cargo-modules) need the whole rust-analyzer stack and
minutes of build time; path-level edges are enough to find cycles.
"""
import os
import re
import sys

CRATES = {"core": "crates/core/src", "guard": "crates/guard/src", "server": "crates/server/src", "sdk": "sdk/src"}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH_RE = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
# Strings and comments in one pass, so that `"sqlite://"` is a string, not a comment.
NOISE_RE = re.compile(r"'\"'|r#+\".*?\"#+|\"(?:\\.|[^\"\\])*\"|//[^\n]*|/\*.*?\*/", re.S)
MOD_PATH_ATTR = re.compile(r'#\[path\s*=')


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main", "mod"):
        rel = rel[:-1]
    return rel


def resolve(mod, head, tail):
    parts = [p for p in tail.split("::") if p]
    if head == "crate":
        return parts
    if head == "self":
        return mod + parts
    base = list(mod)
    while parts and parts[0] == "super":
        parts.pop(0)
        base = base[:-1]
    return base[:-1] + parts if head == "super" else base + parts


def grouped(text):
    """`use crate::{a::X, b}` (and `super::{…}`): the first segment of each item."""
    out = []
    for m in re.finditer(r"\b(crate|super|self)::\{", text):
        depth, item, i = 1, "", m.end()
        while i < len(text) and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if depth == 1 and c == ",":
                out.append((m.group(1), item))
                item = ""
            elif depth >= 1:
                item += c
            i += 1
        out.append((m.group(1), item))
    result = []
    for head, item in out:
        name = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", item)
        if name and name.group(1) not in ("self",):
            result.append((head, "::" + name.group(1)))
    return result


def edges_of(src):
    mods = set()
    files = []
    for dirpath, _, names in os.walk(src):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files.append(path)
                mods.add(tuple(module_of(src, path)))
    edges = set()
    for path in files:
        mod = module_of(src, path)
        text = open(path, encoding="utf-8").read()
        # Test modules may reach anywhere; they are not part of the layering.
        text = text.split("#[cfg(test)]")[0]
        text = NOISE_RE.sub(lambda m: '""' if m.group(0)[0] in "\"r'" else "", text)
        for head, tail in PATH_RE.findall(text) + grouped(text):
            target = resolve(mod, head, tail)
            # Trim to the longest prefix that is a real module.
            while target and tuple(target) not in mods:
                target = target[:-1]
            common = 0
            while common < min(len(mod), len(target)) and mod[common] == target[common]:
                common += 1
            if common < len(mod) and common < len(target):
                parent = "::".join(mod[:common]) or "<root>"
                edges.add((parent, mod[common], target[common]))
    return edges


def sccs(nodes, adj):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in adj.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def cycles():
    found = []
    for crate, rel in CRATES.items():
        by_parent = {}
        for parent, a, b in edges_of(os.path.join(ROOT, rel)):
            by_parent.setdefault(parent, {}).setdefault(a, set()).add(b)
        for parent, adj in sorted(by_parent.items()):
            nodes = set(adj) | {w for ws in adj.values() for w in ws}
            for comp in sccs(nodes, adj):
                found.append(f"{crate}: {parent}: {' <-> '.join(comp)}")
    return found


def main():
    found = cycles()
    baseline_path = os.path.join(ROOT, "tools", "modcycles.baseline")
    baseline = set()
    if os.path.exists(baseline_path):
        baseline = {l.strip() for l in open(baseline_path) if l.strip() and not l.startswith("#")}
    for c in found:
        print(("known  " if c in baseline else "NEW    ") + c)
    new = [c for c in found if c not in baseline]
    gone = sorted(baseline - set(found))
    for c in gone:
        print("fixed  " + c + "  (remove it from tools/modcycles.baseline)")
    print(f"{len(found)} cycle(s), {len(new)} new")
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import layering

    layered = layering.main()
    if "--strict" in sys.argv:
        return 1 if found or layered else 0
    return 1 if new or layered else 0


if __name__ == "__main__":
    sys.exit(main())
