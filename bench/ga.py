#!/usr/bin/env python3
"""ga.py — grouping accuracy (GA) and F1 grouping accuracy (FGA) of `autocoder cluster`
on the loghub development set.

For each dataset X it runs `autocoder cluster --labels --format FMT X_2k.log`, reads the true
groups (EventId per LineId) from X_2k.log_structured.csv and scores:
  GA  = share of lines whose predicted group holds exactly the lines of their true group;
  FGA = F1 over groups (a predicted group is correct when its line set equals a true group's).
Usage: ga.py [--min-mean X] [--verbose] [-- extra cluster options]
Environment: AUTOCODER (binary, default build/autocoder), LOGHUB (default data/loghub, a copy of the development set).
Exit 1 when the mean GA is below --min-mean.
"""
import collections, csv, os, subprocess, sys

FORMATS = {
    "HDFS": "<Date> <Time> <Pid> <Level> <Component>: <Content>",
    "Hadoop": "<Date> <Time> <Level> [<Process>] <Component>: <Content>",
    "Zookeeper": "<Date> <Time> - <Level>  [<Node>:<Component>@<Id>] - <Content>",
    "OpenSSH": "<Date> <Day> <Time> <Component> sshd[<Pid>]: <Content>",
}

def score(truth, pred):
    true_groups = collections.defaultdict(set)
    pred_groups = collections.defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, pred)):
        true_groups[t].add(i)
        pred_groups[p].add(i)
    true_sets = {frozenset(s) for s in true_groups.values()}
    correct_lines = 0
    correct_groups = 0
    for s in pred_groups.values():
        if frozenset(s) in true_sets:
            correct_lines += len(s)
            correct_groups += 1
    ga = correct_lines / len(truth)
    prec = correct_groups / len(pred_groups)
    rec = correct_groups / len(true_groups)
    fga = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return ga, fga, len(pred_groups), len(true_groups)

def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        extra = args[args.index("--") + 1:]
        args = args[:args.index("--")]
    min_mean = None
    verbose = "--verbose" in args
    if "--min-mean" in args:
        min_mean = float(args[args.index("--min-mean") + 1])
    binary = os.environ.get("AUTOCODER", "build/autocoder")
    loghub = os.environ.get("LOGHUB") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "data", "loghub")
    if not os.path.isfile(os.path.join(loghub, "HDFS_2k.log")):
        sys.exit("loghub development set not found in %s (set LOGHUB)" % loghub)
    gas = []
    print("%-10s %6s %6s %6s %6s" % ("dataset", "GA", "FGA", "pred", "true"))
    for name, fmt in FORMATS.items():
        log = os.path.join(loghub, name + "_2k.log")
        rows = list(csv.DictReader(open(log + "_structured.csv", newline="")))
        out = subprocess.run([binary, "cluster", "--labels", "--format", fmt] + extra + [log],
                             check=True, capture_output=True, text=True).stdout.split()
        if len(out) != len(rows):
            sys.exit("%s: %d labels for %d lines" % (name, len(out), len(rows)))
        truth = [r["EventId"] for r in rows]
        ga, fga, npred, ntrue = score(truth, out)
        gas.append(ga)
        print("%-10s %6.3f %6.3f %6d %6d" % (name, ga, fga, npred, ntrue))
        if verbose:
            show_errors(rows, truth, out)
    mean = sum(gas) / len(gas)
    print("%-10s %6.3f" % ("mean", mean))
    if min_mean is not None and mean < min_mean:
        sys.exit("mean GA %.3f is below the floor %.3f" % (mean, min_mean))

def show_errors(rows, truth, pred):
    """Print true groups that were split or merged, with example contents."""
    by_pred = collections.defaultdict(set)
    by_true = collections.defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, pred)):
        by_pred[p].add(i)
        by_true[t].add(i)
    for t, lines in sorted(by_true.items(), key=lambda kv: -len(kv[1])):
        preds = {pred[i] for i in lines}
        if len(preds) == 1 and by_pred[next(iter(preds))] == lines:
            continue
        print("  %s (%d lines) -> %d predicted groups%s" % (
            t, len(lines), len(preds),
            "" if len(preds) > 1 else " (merged with others)"))
        shown = set()
        for i in sorted(lines):
            if pred[i] in shown:
                continue
            shown.add(pred[i])
            print("      [%s] %s" % (pred[i], rows[i]["Content"][:140]))
            if len(shown) >= 4:
                break

if __name__ == "__main__":
    main()
