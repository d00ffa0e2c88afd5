#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Where the bytes of a static binary come from, read from its GNU ld link map
(-Wl,-Map=FILE): the code and read-only data that each input object put into
the binary, summed per group (the proxy, BearSSL, libc, the compiler's
runtime) and listed per object, biggest first.

    linkmap.py MAP [TOP]        groups, then the TOP (default 20) objects
    linkmap.py MAP TOP bearssl  only BearSSL's modules, several a line

Only sections that end up in the file are counted (.text, .rodata, .data and
the like; not .bss, not debug info), so the sum is close to the stripped size
less headers and alignment. Merged string sections are attributed to the
first object that had them.
"""
import collections
import re
import signal
import sys

LOADED = (".text", ".rodata", ".data", ".init", ".fini", ".got", ".eh_frame",
          ".tdata", ".sdata", ".lit", ".ARM.exidx", ".ARM.extab", ".MIPS.")


def group(obj):
    if "libbearssl" in obj:
        return "bearssl"
    if re.search(r"lib(c|m|pthread|resolv)\.a", obj):
        return "libc"
    if re.search(r"libgcc|crt[^/]*\.o$", obj):
        return "compiler runtime"
    return "proxy"


def parse(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    try:
        start = next(i for i, l in enumerate(lines)
                     if l.startswith("Linker script and memory map"))
    except StopIteration:
        sys.exit("linkmap.py: %s is not a GNU ld map" % path)
    per_obj = collections.Counter()
    pending = None
    for line in lines[start:]:
        # A long section name sits alone on its line; its address, size
        # and object follow on the next one.
        m = re.match(r"^ (\.[\w.$-]+)\s*$", line)
        if m:
            pending = m.group(1)
            continue
        m = re.match(r"^ (\.[\w.$-]+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$", line)
        sec = (m.group(1) or pending) if m else None
        pending = None
        if not m or sec is None or not sec.startswith(LOADED):
            continue
        size = int(m.group(3), 16)
        if size:
            per_obj[m.group(4).strip()] += size
    return per_obj


def short(obj):
    # /path/libbearssl.a(ec_ec_p256_m31.o) -> libbearssl.a(ec_ec_p256_m31.o)
    return re.sub(r"^.*/", "", obj)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    per_obj = parse(sys.argv[1])
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    only = sys.argv[3] if len(sys.argv) > 3 else None
    groups = collections.Counter()
    for obj, size in per_obj.items():
        groups[group(obj)] += size
    total = sum(groups.values())
    if only is None:
        print("%-18s %9s %7s" % ("from", "bytes", "KiB"))
        for name, size in groups.most_common():
            print("%-18s %9d %7.1f" % (name, size, size / 1024))
        print("%-18s %9d %7.1f" % ("total", total, total / 1024))
        print()
    items = [(o, s) for o, s in per_obj.items() if only is None or group(o) == only]
    items.sort(key=lambda x: (-x[1], x[0]))
    if only is not None:
        # libbearssl.a(ec_ec_p256_m31.o) -> ec_p256_m31: the archive member
        # is the source's directory and file name joined by '_'.
        names = [re.sub(r"^.*\((?:[a-z0-9]+_)?(.*)\.o\)$", r"\1", o) for o, _ in items[:top]]
        cells = ["%6d %-22s" % (size, name) for (_, size), name in zip(items, names)]
        for i in range(0, len(cells), 4):
            print(" ".join(cells[i:i + 4]).rstrip())
        return
    print("%9s  %s" % ("bytes", "object (biggest first)"))
    for obj, size in items[:top]:
        print("%9d  %s" % (size, short(obj)))


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    main()
