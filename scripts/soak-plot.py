#!/usr/bin/env python3
"""Draws a soak run's samples (the `soak: t=...` lines thruster_soak prints) as one SVG with gnuplot: the
broker's anonymous RSS, its file descriptors other than the store's, the store's descriptors and its threads
over time, with the run's summary line as the label.

Usage: scripts/soak-plot.py SOAK_LOG OUT.svg "TITLE"      (e.g. after `make soak MINUTES=30 | tee soak.log`)
"""
import re
import subprocess
import sys
import tempfile

SAMPLE = re.compile(r"^soak: t=(\d+)s anon=(\d+) KiB rss=(\d+) KiB fds=(\d+) store_fds=(\d+) threads=(\d+)")


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    log, out, title = sys.argv[1:]
    rows, summary = [], ""
    with open(log, errors="replace") as f:
        for line in f:
            m = SAMPLE.match(line)
            if m:
                rows.append([int(x) for x in m.groups()])
            elif line.startswith("soak: ") and " of load" in line:
                summary = line.strip()[len("soak: "):]
    if not rows:
        sys.exit(f"no samples in {log}")
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as d:
        for t, anon, rss, fds, store_fds, threads in rows:
            d.write(f"{t / 60:.3f} {anon / 1024:.1f} {rss / 1024:.1f} {fds} {store_fds} {threads}\n")
        data = d.name
    label = summary.replace('"', "'")
    if len(label) > 110:
        cut = label.rfind(" ", 0, 110)
        label = label[:cut] + "\\n" + label[cut + 1:]
    script = f"""
set terminal svg size 960,560 dynamic font 'sans,11'
set output '{out}'
set title "{title}\\n{label}" noenhanced
set xlabel 'minutes'
set ylabel 'MiB'
set y2label 'count'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside bottom center horizontal
set grid
plot '{data}' using 1:2 axes x1y1 with lines lw 2 title 'RssAnon (MiB)', \\
     '{data}' using 1:3 axes x1y1 with lines dt 2 title 'VmRSS (MiB, counts mapped store pages)', \\
     '{data}' using 1:4 axes x1y2 with lines lw 2 title 'fds (sockets, pipes, ...)', \\
     '{data}' using 1:5 axes x1y2 with lines dt 3 title 'store fds (one per mapped file)', \\
     '{data}' using 1:6 axes x1y2 with lines lw 2 title 'threads'
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


if __name__ == "__main__":
    main()
