#!/bin/sh
# blueprint.sh — time `autocoder validate` on a generated 50-component blueprint (a chain
# of every non-listening type with conditions and filter expressions), against the same-run
# reference `autocoder version` (process start-up alone). Usage: bench-blueprint.sh AUTOCODER
set -eu
bin=${1:?usage: blueprint.sh AUTOCODER}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$bin" "$dir" <<'PY'
import os, subprocess, sys, time
binary, d = sys.argv[1], sys.argv[2]
types = ['Transformer', 'Filter', 'Model', 'Accumulator', 'StreamProcessor', 'Aggregator']
ports = {'Model': ('features', 'predictions')}
lines = ['schema_version: "1.0.0"', 'system:', '  name: fifty', '  components:',
         '    - {name: c0, type: Source}']
kinds = ['Source']
for i in range(1, 49):
    t = types[i % len(types)]
    kinds.append(t)
    lines += [f'    - name: c{i}', f'      type: {t}']
    if t == 'Filter':
        lines += ['      config:', '        filter_conditions:',
                  f'          - {{condition: "amount > {i} and country in [\'FR\', \'DE\']", action: pass}}']
lines += ['    - {name: c49, type: Sink}', '  bindings:']
kinds.append('Sink')
for i in range(1, 50):
    out = ports.get(kinds[i - 1], ('input', 'output'))[1]
    inp = ports.get(kinds[i], ('input', 'output'))[0]
    lines += [f'    - {{from: c{i-1}.{out}, to: c{i}.{inp}, condition: "x > {i}"}}']
path = os.path.join(d, 'fifty.yaml')
open(path, 'w').write('\n'.join(lines) + '\n')

def run(args, n=200):
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
        ts.append((time.perf_counter() - t) * 1000)
    ts.sort()
    return ts[len(ts) // 2], ts[int(len(ts) * 0.95)]

v = run([binary, 'validate', path])
r = run([binary, 'version'])
print(f'validate 50 components: median {v[0]:.2f} ms, p95 {v[1]:.2f} ms (whole process)')
print(f'reference autocoder version: median {r[0]:.2f} ms, p95 {r[1]:.2f} ms')
print(f'front end alone (median difference): {v[0] - r[0]:.2f} ms; target < 100 ms')
PY
