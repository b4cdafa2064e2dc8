#!/usr/bin/env python3
"""mining.py — template-mining speed of `autocoder cluster` (masking + mining, one core).

Builds a file of >= 1,000,000 lines by concatenating the four loghub development logs
(126 rounds of 8,000 lines), then runs `autocoder cluster --stats` on it:
  1. whole lines (no --format: headers with dates and times are masked too);
  2. each dataset's own file with its --format (header split by PCRE2, content mined).
Reference in the same run: the whole-line file with every mask off (the cost of masking).
  3. generated text where most lines are new templates (20,000 lines of random words, numbers
     and key=value pairs): the cost of the tree, the similarity and the family statistics
     without the exact-repeat cache.
Each measurement is the best of 3 runs. Reports lines per CPU-second (user+sys of the process,
which includes reading the file; on a shared machine this measures the work, not the
neighbours), wall time and peak RSS. Environment: AUTOCODER, LOGHUB (as bench/ga.py).
"""
import os, random, subprocess, sys, tempfile

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
        gen = os.path.join(tmp, "new.log")
        with open(gen, "w") as f:
            f.write(new_template_text(20000))
        lines, clusters, cpu, wall, rss = best_of(binary, [gen])
        print("new templates: %d lines of generated text, %d templates (%.0f%% of the lines), "
              "%.2f s CPU, %.0f lines/CPU-s, peak RSS %.1f MiB" % (
                  lines, clusters, 100.0 * clusters / lines, cpu, lines / cpu, rss / 1024))

def new_template_text(n):
    """n lines, most of them a template of their own: 4-14 words from a 5,000-word vocabulary,
    with numbers, key=value pairs and parenthesised parts mixed in."""
    r = random.Random(1)
    vocab = ["w%s" % "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 9)))
             for _ in range(5000)]
    out = []
    for _ in range(n):
        toks = []
        for _ in range(r.randint(4, 14)):
            x = r.random()
            if x < 0.7:
                toks.append(r.choice(vocab))
            elif x < 0.85:
                toks.append(str(r.randint(0, 100000)))
            elif x < 0.95:
                toks.append("%s=%s" % (r.choice(vocab), r.choice(vocab)))
            else:
                toks.append("(%s %d)" % (r.choice(vocab), r.randint(0, 99)))
        out.append(" ".join(toks))
    return "\n".join(out) + "\n"

if __name__ == "__main__":
    main()
