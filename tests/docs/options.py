#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Every option is described alike everywhere: the option table in src/conf.c
(what --help and --check print) against the README's option table and the
man page. For each option: a README row and a man page entry, the same
environment variable in all three, and the same default (taken from
`--check` with an empty environment) wherever a default is written.

Usage: options.py PROXY README MANPAGE. Exit 1 with one line per mismatch."""
import re
import subprocess
import sys

proxy, readme_path, man_path = sys.argv[1:4]
errors = []


def run(*args):
    return subprocess.run([proxy, *args], env={}, capture_output=True, text=True,
                          check=True).stdout


# --help: "  -n, --nameserver IP:PORT:NAME  help... [env: NAMESERVERS]", one line each.
options = {}  # long name -> env var or None
helps = {}    # long name -> its help text
order = []
for line in run("--help").splitlines():
    m = re.match(r"^  (?:-\w, )?\s*--([a-z0-9-]+)", line)
    if not m:
        continue
    current = m.group(1)
    e = re.search(r"\[env: ([A-Z0-9_]+)\]", line)
    options[current] = e.group(1) if e else None
    helps[current] = line
    order.append(current)
if len(options) < 10:
    sys.exit(f"options.py: read only {len(options)} options from --help")

# --check with nothing set: the defaults, in config-file syntax.
defaults = {}
for line in run("--check").splitlines():
    if line.startswith("#") or not line.strip():
        continue
    name, _, value = line.partition(" ")
    defaults.setdefault(name, []).append(value)

readme = open(readme_path, encoding="utf-8").read()
man = open(man_path, encoding="utf-8").read()

# README rows: | `-n, --nameserver IP:PORT:NAME` | `NAMESERVERS` ... | default | meaning |
rows = {}
for line in readme.splitlines():
    if not line.startswith("| `"):
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    for name in re.findall(r"--([a-z0-9-]+)", cells[0]):
        rows[name] = cells

# Man page entries: from ".It Fl ... Fl -name" to the next ".It" at the same list.
entries = {}
for m in re.finditer(r"^\.It (?:Fl \w , )?Fl -([a-z0-9-]+)(.*?)(?=^\.It |^\.El|\Z)", man,
                     re.M | re.S):
    entries[m.group(1)] = m.group(2)


def strip_roff(text):
    text = re.sub(r"^\.(?:Li|Ar|Cm|Ev|Pa|Dv) ", "", text, flags=re.M)
    return text.replace("\n", " ")


# Flags have no default to compare ("no" unless given); listeners' yes is derived.
FLAG_VALUES = {"yes", "no"}
ACTIONS = {"config", "check", "help", "version"}

for name in order:
    env = options[name]
    row = rows.get(name)
    entry = entries.get(name)
    if row is None:
        errors.append(f"--{name}: no row in {readme_path}'s option table")
    if entry is None:
        errors.append(f"--{name}: no .It entry in {man_path}")
    if name in ACTIONS:
        continue
    if env:
        if row is not None and f"`{env}`" not in row[1]:
            errors.append(f"--{name}: {readme_path} gives environment '{row[1]}', --help {env}")
        if entry is not None and not re.search(rf"^\.Ev {env}\b", entry, re.M):
            errors.append(f"--{name}: {man_path} does not name its environment variable {env}")
    values = defaults.get(name)
    if not values or values[0] in FLAG_VALUES:
        continue
    m = re.search(r"\(default ([^ );,]+)", helps[name])
    if m and m.group(1) not in values:
        errors.append(f"--{name}: --help says default {m.group(1)}, --check says "
                      f"{', '.join(values)}")
    if row is not None and not all(f"`{v}`" in row[2] or v in row[2].split() for v in values):
        errors.append(f"--{name}: {readme_path} gives default '{row[2]}', --check says "
                      f"{', '.join(values)}")
    if entry is not None:
        m = re.search(r"Default:(.*?)(?:\.\s*$|\Z)", strip_roff(entry), re.S)
        text = m.group(1) if m else ""
        if not all(v in text for v in values):
            errors.append(f"--{name}: {man_path} gives default '{text.strip()[:80]}', "
                          f"--check says {', '.join(values)}")

for name in rows:
    if name not in options:
        errors.append(f"--{name}: in {readme_path}'s option table but not an option")
for name in entries:
    if name not in options:
        errors.append(f"--{name}: in {man_path} but not an option")

for e in errors:
    print(e)
print(f"options: {len(order)} options checked against --help, --check, "
      f"{readme_path} and {man_path}: {len(errors)} mismatches")
sys.exit(1 if errors else 0)
