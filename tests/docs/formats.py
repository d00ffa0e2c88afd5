#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every printf-style conversion in the proxy's sources is one port/fmt.c
prints: the static router build replaces musl's printf family with it, and
anything else (%f, %p, %jd, ...) would come out literally there and only
there. Checks every string literal with a '%' in src/ and port/ (fmt.c
itself and its comments aside; a literal that is no format says so with
the comment "not a format" on its line). Usage: formats.py [FILE...]"""
import glob
import re
import sys

# port/fmt.c's grammar: flags - 0 + space, width and precision as digits or
# *, lengths hh h l ll z (none on c and s), conversions d i u x X c s %.
SPEC = re.compile(r"%([-0+ ]*)(\*|[0-9]+)?(?:\.(\*|[0-9]+))?(hh|h|ll|l|z)?(.?)")
NUMERIC = set("diuxX")


def literals(text):
    """The string literals of C source, comments and char literals left out;
    adjacent literals are joined as the compiler joins them."""
    out, i, n = [], 0, len(text)
    cur, line, last_end = None, 1, -1
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            line += text.count("\n", i, j)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                else:
                    buf.append(text[j])
                    j += 1
            s = "".join(buf)
            gap = text[last_end:i] if last_end >= 0 else "x"
            if cur is not None and gap.strip() == "":
                cur[1] += s
            else:
                cur = [line, s]
                out.append(cur)
            last_end = j + 1
            i = j + 1
        else:
            if c == "\n":
                line += 1
            if not c.isspace():
                cur = None
                last_end = -1
            i += 1
    return out


def check(path):
    bad = []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    lines = text.split("\n")
    for line, s in literals(text):
        if "not a format" in lines[line - 1]:
            continue
        for m in SPEC.finditer(s):
            flags, _, _, length, conv = m.groups()
            ok = conv == "%" and not (flags or length or m.group(2) or m.group(3))
            ok = ok or conv in NUMERIC or (conv in "cs" and not length)
            if not ok:
                bad.append("%s:%d: %r in %r: port/fmt.c does not print it (the static build would print it literally)"
                           % (path, line, m.group(0), s))
    return bad


def main():
    files = sys.argv[1:] or sorted(glob.glob("src/*.c") + glob.glob("src/*.h") +
                                   glob.glob("port/*.c") + glob.glob("port/*.h"))
    files = [f for f in files if not f.endswith("port/fmt.c")]
    bad = [b for f in files for b in check(f)]
    for b in bad:
        print("FAIL:", b)
    if bad:
        return 1
    print("ok - every printf conversion in %d files is one port/fmt.c prints" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
