#!/bin/sh
# t40-cluster-ga.sh — grouping accuracy of `autocoder cluster` on the loghub development set
# (four datasets, one default configuration) must not fall below the floor. Measured: mean
# GA 0.996 (HDFS 1.000, Hadoop 0.994, Zookeeper 0.991, OpenSSH 1.000); issue 12 sets the floor
# at 0.99. The held-out-style logs are scored by t42.
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
loghub=${LOGHUB:-$here/data/loghub}
if [ ! -f "$loghub/HDFS_2k.log" ]; then
	echo "loghub development set not found (set LOGHUB)"; exit 1
fi
LOGHUB=$loghub python3 "$here/bench/ga.py" --min-mean 0.99 | tee "$TMPDIR_TEST/ga.txt"
# every dataset on its own must stay well above Drain's published figures
awk 'NR>1 && $1 != "mean" && $2 < 0.95 { print "GA of " $1 " is " $2; bad=1 } END { exit bad }' \
	"$TMPDIR_TEST/ga.txt"
