#!/usr/bin/env python3
"""heldout.py — grouping accuracy of `autocoder cluster` on the held-out-style test logs
(tests/data/heldout, written by bench/heldout_gen.py: message text in the shapes of twelve
other log sources, labelled with the template that generated each line).

Scores GA and FGA per file exactly as bench/ga.py does for the loghub development set, one
default configuration for every file (no --format: the files hold message text only).
Usage: heldout.py [--min-mean X] [--verbose] [-- extra cluster options]
Environment: AUTOCODER (binary, default build/autocoder), HELDOUT (default tests/data/heldout).
Exit 1 when the mean GA is below --min-mean.
"""
import os, subprocess, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ga import score, show_errors  # noqa: E402

def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    min_mean = float(args[args.index("--min-mean") + 1]) if "--min-mean" in args else None
    verbose = "--verbose" in args
    binary = os.environ.get("AUTOCODER", "build/autocoder")
    d = os.environ.get("HELDOUT") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "heldout")
    names = sorted(f[:-4] for f in os.listdir(d) if f.endswith(".log"))
    if not names:
        sys.exit("no held-out logs in %s" % d)
    gas = []
    print("%-12s %6s %6s %6s %6s" % ("dataset", "GA", "FGA", "pred", "true"))
    for name in names:
        log = os.path.join(d, name + ".log")
        lines = open(log).read().splitlines()
        truth = open(os.path.join(d, name + ".labels")).read().split()
        if len(truth) != len(lines):
            sys.exit("%s: %d labels for %d lines" % (name, len(truth), len(lines)))
        out = subprocess.run([binary, "cluster", "--labels"] + extra + [log], check=True,
                             capture_output=True, text=True).stdout.split()
        if len(out) != len(lines):
            sys.exit("%s: %d predicted labels for %d lines" % (name, len(out), len(lines)))
        ga, fga, npred, ntrue = score(truth, out)
        gas.append(ga)
        print("%-12s %6.3f %6.3f %6d %6d" % (name, ga, fga, npred, ntrue))
        if verbose:
            show_errors([{"Content": l} for l in lines], truth, out)
    mean = sum(gas) / len(gas)
    print("%-12s %6.3f" % ("mean", mean))
    if min_mean is not None and mean < min_mean:
        sys.exit("mean GA %.3f is below the floor %.3f" % (mean, min_mean))

if __name__ == "__main__":
    main()
