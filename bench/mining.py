#!/usr/bin/env python3
"""mining.py — template-mining speed of `autocoder cluster` (masking + mining, one core).

Builds a file of >= 1,000,000 lines by concatenating the four loghub development logs
(126 rounds of 8,000 lines), then runs `autocoder cluster --stats` on it:
  1. whole lines (no --format: headers with dates and times are masked too);
  2. each dataset's own file with its --format (header split by PCRE2, content mined).
Reference in the same run: the whole-line file with every mask off (the cost of masking).
Each measurement is the best of 3 runs. Reports lines per CPU-second (user+sys of the process,
which includes reading the file; on a shared machine this measures the work, not the
neighbours), wall time and peak RSS. Environment: AUTOCODER, LOGHUB (as bench/ga.py).
"""
import os, subprocess, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ga import FORMATS  # noqa: E402

ROUNDS = 126

def run(binary, args):
    """Run once; return (lines, clusters, cpu seconds, wall seconds, peak RSS KiB)."""
    p = subprocess.run([binary, "cluster", "--stats"] + args, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, check=True)
    f = p.stderr.strip().splitlines()[-1].split()
    stats = dict(zip(f[0::2], f[1::2]))
    return (int(stats["lines"]), int(stats["clusters"]), float(stats["cpu"].rstrip("s")),
            float(stats["wall"].rstrip("s")), int(stats["peak_rss"].rstrip("KiB")))

def best_of(binary, args, n=3):
    runs = [run(binary, args) for _ in range(n)]
    return min(runs, key=lambda r: r[2])

def main():
    binary = os.environ.get("AUTOCODER", "build/autocoder")
    loghub = os.environ.get("LOGHUB") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "loghub")
    if not os.path.isfile(os.path.join(loghub, "HDFS_2k.log")):
        sys.exit("loghub development set not found in %s (set LOGHUB)" % loghub)
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for name in FORMATS:
            data = open(os.path.join(loghub, name + "_2k.log"), "rb").read()
            if not data.endswith(b"\n"):
                data += b"\n"
            files[name] = (os.path.join(tmp, name + ".log"), data)
            with open(files[name][0], "wb") as f:
                f.write(data * ROUNDS)
        big = os.path.join(tmp, "all.log")
        with open(big, "wb") as f:
            for _ in range(ROUNDS):
                for name in FORMATS:
                    f.write(files[name][1])
        lines, clusters, cpu, wall, rss = best_of(binary, [big])
        print("whole lines:  %d lines, %d templates, %.2f s CPU, %.2f s wall, "
              "%.0f lines/CPU-s, peak RSS %.1f MiB" % (lines, clusters, cpu, wall, lines / cpu,
                                                       rss / 1024))
        lines, clusters, cpu, wall, rss = best_of(binary, ["--masks", "", big])
        print("reference, same file with masks off: %.2f s CPU, %.0f lines/CPU-s, %d templates"
              % (cpu, lines / cpu, clusters))
        tl = tc = 0
        for name, fmt in FORMATS.items():
            lines, clusters, cpu, wall, rss = best_of(binary, ["--format", fmt, files[name][0]])
            tl += lines
            tc += cpu
            print("  %-10s %d lines, %d templates, %.0f lines/CPU-s, peak RSS %.1f MiB" % (
                name, lines, clusters, lines / cpu, rss / 1024))
        print("with --format: %d lines, %.2f s CPU, %.0f lines/CPU-s" % (tl, tc, tl / tc))

if __name__ == "__main__":
    main()
