#!/usr/bin/env python3
"""Size limits of issue 14: no Rust file over 400 lines, no HTTP handler over 30.

    python3 tools/limits.py           # list offenders; exit 1 on any not allowed by the baseline

Checked:
- every `.rs` file under crates/, sdk/, tests/ and examples/ (build output in
  `target/` and `node_modules/` skipped): at most FILE_LIMIT lines;
- every `fn` in crates/server/src/http/ (free functions, methods, closures
  are not counted separately): at most FN_LIMIT lines, counted from the line
  holding `fn` (attributes and doc comments above it are not counted) to the
  line of its closing brace, both included. Braces inside strings, chars and
  comments are ignored.

The baseline (tools/limits.baseline) is a ratchet: one line per known
offender, `<count> <path>` for a file and `<count> <path>::<fn>` for a
function, with its size when it was listed. An offender passes while it is
no longer than its baseline count; growing fails, and so does any offender
not listed. The file may only shrink: when an offender is split, lower or
delete its line (the script names lines that can go, without failing, so
that one engineer's split never breaks another's landing).
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_LIMIT = 400
FN_LIMIT = 30
FILE_DIRS = ("crates", "sdk", "tests", "examples")
FN_DIR = "crates/server/src/http"
SKIP_DIRS = {"target", "node_modules", ".git"}
BASELINE = os.path.join(ROOT, "tools", "limits.baseline")

# Strings, chars and comments in one pass (a `'{'` or `"}"` must not count).
NOISE_RE = re.compile(
    r"b?r(#*)\".*?\"\1|b?\"(?:\\.|[^\"\\])*\"|b?'(?:\\.|[^'\\\n])'|//[^\n]*|/\*.*?\*/",
    re.S,
)
FN_RE = re.compile(r"\bfn\s+([A-Za-z_][A-Za-z0-9_]*)")


def rust_files(top):
    for dirpath, dirnames, filenames in os.walk(os.path.join(ROOT, top)):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        for name in sorted(filenames):
            if name.endswith(".rs"):
                yield os.path.join(dirpath, name)


def rel(path):
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def blank_noise(text):
    """The text with strings and comments replaced by spaces (newlines kept)."""
    return NOISE_RE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def functions(text):
    """(name, lines) of every `fn` with a body; nested fns are counted on their own too."""
    clean = blank_noise(text)
    out = []
    for m in FN_RE.finditer(clean):
        # The body starts at the first `{` after the signature; a `;` first
        # means a declaration without a body (trait method, extern).
        i = m.end()
        depth_paren = 0
        while i < len(clean):
            c = clean[i]
            if c in "([<":
                depth_paren += 1
            elif c in ")]>" and depth_paren:
                depth_paren -= 1
            elif c == ";" and depth_paren == 0:
                i = -1
                break
            elif c == "{" and depth_paren == 0:
                break
            i += 1
        if i < 0 or i >= len(clean):
            continue
        depth, j = 0, i
        while j < len(clean):
            if clean[j] == "{":
                depth += 1
            elif clean[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        start = clean.count("\n", 0, m.start()) + 1
        end = clean.count("\n", 0, j) + 1
        out.append((m.group(1), end - start + 1))
    return out


def offenders():
    found = {}
    for top in FILE_DIRS:
        for path in rust_files(top):
            with open(path, encoding="utf-8") as f:
                lines = f.read().count("\n")
            if lines > FILE_LIMIT:
                found[rel(path)] = lines
    for path in rust_files(FN_DIR):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for name, lines in functions(text):
            if lines > FN_LIMIT:
                key = f"{rel(path)}::{name}"
                found[key] = max(lines, found.get(key, 0))
    return found


def baseline():
    known = {}
    if os.path.exists(BASELINE):
        for line in open(BASELINE, encoding="utf-8"):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            count, what = line.split(None, 1)
            known[what] = int(count)
    return known


def main():
    found, known = offenders(), baseline()
    bad = 0
    for what, lines in sorted(found.items()):
        limit = FN_LIMIT if "::" in what else FILE_LIMIT
        allowed = known.get(what)
        if allowed is None:
            print(f"NEW    {lines} {what}  (limit {limit})")
            bad += 1
        elif lines > allowed:
            print(f"GREW   {lines} {what}  (baseline {allowed}, limit {limit})")
            bad += 1
        else:
            print(f"known  {lines} {what}" + (f"  (lower its baseline line to {lines})" if lines < allowed else ""))
    for what in sorted(set(known) - set(found)):
        print(f"fixed  {what}  (remove it from tools/limits.baseline)")
    if bad:
        print(f"\n{bad} offender(s) over the limits (files {FILE_LIMIT} lines, http fns {FN_LIMIT} lines); "
              "split them, or see the header of tools/limits.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
