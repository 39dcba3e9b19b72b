#!/usr/bin/env python3
"""Draws the cost curves' CSVs (bench/curves/*.sh) as SVGs with gnuplot.

Usage: bench/curves/report.py DATA_DIR SVG_DIR
For each known curve whose DATA_DIR/<curve>.csv exists, writes SVG_DIR/<curve>[-part].svg; the plot's title
names the machine, the date, the commit and the load average, and its label the command that made the CSV.
"""
import csv
import os
import subprocess
import sys
import tempfile


def read_rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def title_of(rows, what):
    r = rows[0]
    loads = [num(x["load_avg"]) for x in rows if num(x["load_avg"]) is not None]
    load = f"{min(loads):g}-{max(loads):g}" if loads else "?"
    model = r["cpu_model"].replace('"', "")
    return (f"{what}\\n{r['nproc']} CPUs ({model}), {r['date']}, commit {r['commit']}, load avg {load}",
            r["command"].replace('"', "'"))


def esc(s):
    return s.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n")


class Plot:
    """One SVG: series of (x, y) points on y1 or y2."""

    def __init__(self, out, title, command, xlabel, ylabel, y2label=None, logx=False, logy=False):
        self.out, self.title, self.command = out, title, command
        self.xlabel, self.ylabel, self.y2label = xlabel, ylabel, y2label
        self.logx, self.logy = logx, logy
        self.series = []  # (name, points, axis, style)
        self.settings = []  # extra gnuplot lines (tics, box width)

    def add(self, name, points, axis="x1y1", style="linespoints"):
        pts = [(x, y) for x, y in points if x is not None and y is not None]
        if pts:
            self.series.append((name, pts, axis, style))

    def draw(self, tmp):
        if not self.series:
            return False
        lines = [
            "set terminal svg size 900,560 dynamic font 'sans,11' noenhanced",
            f'set output "{esc(self.out)}"',
            f'set title "{esc(self.title)}" font ",11"',
            f'set label 1 "{esc(self.command)}" at screen 0.01, screen 0.015 font ",9"',
            "set bmargin 6",
            f'set xlabel "{self.xlabel}"',
            f'set ylabel "{self.ylabel}"',
            "set grid",
            "set key outside top center horizontal",
            "set yrange [0:*]" if not self.logy else "set logscale y",
        ]
        if self.logx:
            lines.append("set logscale x 2" if self.logx == 2 else "set logscale x")
        if self.y2label:
            lines += [f'set y2label "{self.y2label}"', "set y2tics", "set ytics nomirror", "set y2range [0:*]"]
        lines += self.settings
        parts = []
        for i, (name, pts, axis, style) in enumerate(self.series):
            dat = os.path.join(tmp, f"{os.path.basename(self.out)}.{i}.dat")
            with open(dat, "w") as f:
                for x, y in pts:
                    f.write(f"{x} {y}\n")
            extra = {"linespoints": " lw 2 pt 7", "boxes": " fs solid 0.6"}.get(style, " lw 2")
            parts.append(f'"{dat}" using 1:2 axes {axis} with {style}{extra} title "{name}"')
        lines.append("plot " + ", ".join(parts))
        gp = os.path.join(tmp, os.path.basename(self.out) + ".gp")
        with open(gp, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run(["gnuplot", gp], check=True)
        return True


def col(rows, x, y, where=None):
    return [(num(r[x]), num(r[y])) for r in rows if where is None or where(r)]


def plots_for(name, rows, svg):
    path = lambda part="": os.path.join(svg, f"{name}{part}.svg")
    if name == "queues":
        t, c = title_of(rows, "Queues: produce and consume msgs/s, produce p99")
        p = Plot(path(), t, c, "queues (topics x queues per topic)", "msgs/s", "produce p99 (us)", logx=True)
        p.add("produce msgs/s", col(rows, "queues", "produce_msgs_per_sec"))
        p.add("consume msgs/s", col(rows, "queues", "consume_msgs_per_sec"))
        p.add("produce p99 us", col(rows, "queues", "produce_p99_us"), "x1y2")
        return [p]
    if name == "size":
        t, c = title_of(rows, "Message size: produce MB/s against dd oflag=direct, msgs/s")
        p = Plot(path(), t, c, "body bytes", "MB/s (10^6)", "msgs/s", logx=2)
        p.add("produce MB/s", col(rows, "size", "mb_per_sec"))
        p.add("dd oflag=direct MB/s", col(rows, "size", "dd_mb_per_sec"))
        p.add("produce msgs/s", col(rows, "size", "msgs_per_sec"), "x1y2")
        return [p]
    if name == "fanout":
        t, c = title_of(rows, "Fan-out: consumer groups reading one topic")
        p = Plot(path(), t, c, "consumer groups", "msgs/s", logx=2)
        p.add("aggregate msgs/s", col(rows, "groups", "aggregate_msgs_per_sec"))
        p.add("median group msgs/s", col(rows, "groups", "median_group_msgs_per_sec"))
        return [p]
    if name == "connections":
        t, c = title_of(rows, "Connections: 4 active producers plus idle producer connections")
        p = Plot(path(), t, c, "connections", "msgs/s", "p99 (us)", logx=True)
        p.add("msgs/s", col(rows, "connections", "msgs_per_sec"))
        p.add("p99 us", col(rows, "connections", "p99_us"), "x1y2")
        t2, _ = title_of(rows, "Connections: broker RSS with the idle connections open")
        q = Plot(path("-rss"), t2, c, "connections", "broker RSS (MiB)", "KiB per idle connection", logx=True)
        q.add("broker RSS MiB", [(x, y / 1024 if y else None) for x, y in col(rows, "connections",
                                                                             "broker_rss_kb_idle_open")])
        q.add("KiB per idle connection", col(rows, "connections", "broker_rss_kb_per_idle_connection"), "x1y2")
        return [p, q]
    if name == "surface":
        t, c = title_of(rows, "Producers x in-flight: msgs/s")
        p = Plot(path(), t, c, "producers", "msgs/s", logx=2)
        t2, _ = title_of(rows, "Producers x in-flight: p50 (dashed) and p99 latency")
        q = Plot(path("-latency"), t2, c, "producers", "us", logx=2, logy=True)
        for f in sorted({int(num(r["inflight"])) for r in rows}):
            sel = lambda r, f=f: int(num(r["inflight"])) == f
            p.add(f"{f} in flight", col(rows, "producers", "msgs_per_sec", sel))
            q.add(f"p99, {f} in flight", col(rows, "producers", "p99_us", sel))
            q.add(f"p50, {f} in flight", col(rows, "producers", "p50_us", sel), style="lines dt 2")
        return [p, q]
    if name == "store-threads":
        t, c = title_of(rows, "Appending threads (thruster bench store, 1 KiB): msgs/s")
        p = Plot(path(), t, c, "threads", "msgs/s", logx=2, logy=True)
        for fl in ("async", "sync"):
            p.add(f"{fl} flush", col(rows, "threads", "msgs_per_sec", lambda r, fl=fl: r["flush"] == fl))
        return [p]
    if name == "cold-backlog":
        # One group of four bars per measured backlog size (one row each).
        t, c = title_of(rows, "Cold backlog: consume MB/s against the disk's sequential read")
        p = Plot(path(), t, c, "backlog", "MB/s (10^6) / k msgs/s")
        p.settings += ["set boxwidth 0.9", "set xrange [0:%d]" % (5 * len(rows))]
        tics = ", ".join(f'"{r["backlog_mb"]} MB" {5 * j + 2.5}' for j, r in enumerate(rows))
        p.settings.append(f"set xtics ({tics})")
        series = [("disk read MB/s (dd iflag=direct)", lambda r: num(r["disk_read_mb_per_sec"])),
                  ("cold consume MB/s", lambda r: num(r["consume_mb_per_sec"])),
                  ("producer alone k msgs/s", lambda r: (num(r["producer_alone_msgs_per_sec"]) or 0) / 1000),
                  ("producer during the read k msgs/s",
                   lambda r: (num(r["producer_during_msgs_per_sec"]) or 0) / 1000)]
        for i, (label, get) in enumerate(series):
            p.add(label, [(5 * j + i + 1, get(r)) for j, r in enumerate(rows)], style="boxes")
        return [p]
    return []


def main():
    data, svg = sys.argv[1], sys.argv[2]
    os.makedirs(svg, exist_ok=True)
    drawn = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("queues", "size", "fanout", "connections", "surface", "store-threads", "cold-backlog"):
            f = os.path.join(data, f"{name}.csv")
            if not os.path.exists(f):
                continue
            rows = read_rows(f)
            if not rows:
                print(f"{f}: no rows", file=sys.stderr)
                continue
            for p in plots_for(name, rows, svg):
                if p.draw(tmp):
                    print(p.out)
                    drawn += 1
    if drawn == 0:
        print(f"no curve CSVs in {data}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
