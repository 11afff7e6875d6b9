#!/usr/bin/env python3
"""Where a profiled pass's kernel time goes: reads the CSV that Nsight Compute writes for
`member_bench ... profile` (ncu --profile-from-start off --csv --page raw --metrics
gpu__time_duration.sum) and prints, per file, the kernels grouped by name with their count, total
microseconds and share, largest first, and the pass's total.

Usage: bench/ncu_breakdown.py FILE.csv [FILE.csv ...] [--top N]"""
import csv
import io
import re
import sys


def rows(path):
    text = open(path, errors='replace').read()
    start = text.find('"ID"')
    if start < 0:
        return []
    out, scale = [], 1e-3  # to microseconds; the units row names the column's unit
    units = {'nsecond': 1e-3, 'usecond': 1.0, 'msecond': 1e3, 'second': 1e6}
    for r in csv.DictReader(io.StringIO(text[start:])):
        t = (r.get('gpu__time_duration.sum') or '').replace(',', '')
        if not r.get('ID'):
            scale = units.get(t, scale)
            continue
        try:
            out.append((r.get('Kernel Name', '?'), float(t) * scale))
        except ValueError:
            continue
    return out


def short(name):
    name = re.sub(r'\(.*', '', name)              # arguments
    name = re.sub(r'<.*>', '<>', name)            # template arguments
    return name.split('::')[-1][:70] if '::' in name and len(name) > 70 else name[:90]


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    top = int(sys.argv[sys.argv.index('--top') + 1]) if '--top' in sys.argv else 25
    if '--top' in sys.argv:
        args.remove(str(top))
    for path in args:
        rs = rows(path)
        total = sum(t for _, t in rs)
        groups = {}
        for n, t in rs:
            g = groups.setdefault(short(n), [0, 0.0])
            g[0] += 1
            g[1] += t
        print(f'== {path}: {len(rs)} kernels, {total:,.1f} us')
        for n, (c, t) in sorted(groups.items(), key=lambda kv: -kv[1][1])[:top]:
            print(f'  {t:10,.1f} us {100 * t / max(total, 1e-9):5.1f}%  x{c:<4d} {n}')


if __name__ == '__main__':
    main()
