#!/usr/bin/env python3
"""Self cost (Ir) per function summed over callgrind dumps (one per thread): the busiest functions first.
Reads the dump format directly (name compression, calls= lines), so it also reads the dumps a
callgrind_control --dump leaves after a --zero, which callgrind_annotate 3.19 attributes to `clone`.
Usage: callgrind_self.py MESSAGES TOP DUMP...   prints Ir per message per function."""
import re
import sys


def collect_names(path, names):
    # fn=(id) name and cfn=(id) name define a compressed name; the dumps of one run share the numbering.
    for line in open(path, errors="replace"):
        m = re.match(r"c?fn=\((\d+)\) (.*)", line.rstrip("\n"))
        if m:
            names[m.group(1)] = m.group(2)


def self_costs(path, names, totals):
    fn = None
    skip_next = False
    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.rstrip("\n"))
            if m:
                fn = names.get(m.group(1), m.group(1))
            else:
                fn = line[3:].strip()
            continue
        if line.startswith("calls="):
            skip_next = True  # the next cost line is the call's inclusive cost
            continue
        if line[:1].isdigit() or line[:1] in "+-*":
            if skip_next:
                skip_next = False
                continue
            parts = line.split()
            if len(parts) >= 2 and fn is not None:
                totals[fn] = totals.get(fn, 0) + int(parts[1])


def main():
    messages, top = int(sys.argv[1]), int(sys.argv[2])
    names, totals = {}, {}
    for p in sys.argv[3:]:
        collect_names(p, names)
    for p in sys.argv[3:]:
        self_costs(p, names, totals)
    total = sum(totals.values())
    print(f"{'Ir/msg':>8} {'share':>6}  function (self cost)")
    for fn, ir in sorted(totals.items(), key=lambda kv: -kv[1])[:top]:
        print(f"{ir / messages:8.0f} {ir / total:6.1%}  {fn[:150]}")


main()
