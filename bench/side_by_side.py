#!/usr/bin/env python3
"""One side-by-side table of spikecast bench and the PyTorch peer, from the JSON files that
scripts/gpu-bench.sh leaves in one folder:

  ours_fp32.json   spikecast bench --precision fp32 (batch 32: the users' setting)
  ours_bf16.json   spikecast bench --precision bf16 (large batches, budget run)
  peer_cuda.json   the peer's bench.py (plain eager)
  tuned.log        the tuned peer's tuned.py output (its per-member JSON lines) and tuned.json
  tuned_infer.json the tuned peer's inference figures
  peer_budget.json, peer_budget_tuned.json
                   bench/peer_budget.py: the peer's members trained for the budget run's time on its
                   windows (the plain peer's eager step at the same batch; the tuned peer's graph)

Any file may be missing (a failed phase): its column shows '-'. Ratios are speed-ups of spikecast
(peer time / our time, our rate / peer rate): above 1 means spikecast is ahead.
With --cpu it compares ours_cpu.json (spikecast bench --device cpu) with peer_cpu.json (the peer's
bench.py on the CPU) instead (bench/cpu_side_by_side.sh).
Usage: side_by_side.py DIR [--markdown] [--cpu]"""
import json, os, sys


def load(d, name):
    try:
        with open(os.path.join(d, name)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def tuned_lines(d):
    rows = []
    try:
        with open(os.path.join(d, 'tuned.log')) as f:
            for line in f:
                line = line.strip()
                if line.startswith('{"model"'):
                    try:
                        rows.append(json.loads(line))
                    except ValueError:
                        pass
    except OSError:
        pass
    return rows


def fmt(v, digits=1):
    if v is None:
        return '-'
    if isinstance(v, str):
        return v
    if abs(v) >= 1000:
        return f'{v:,.0f}'
    return f'{v:.{digits}f}' if abs(v) >= 0.1 or v == 0 else f'{v:.3g}'


def ratio(ours, other, higher_is_better):
    if ours is None or other is None or ours == 0 or other == 0:
        return '-'
    r = ours / other if higher_is_better else other / ours
    return f'{r:.2f}x'


def ours_train(doc, member, batch):
    for r in (doc or {}).get('train', []):
        if r['member'] == member and r['batch'] == batch:
            return r
    return None


def ours_latency(doc, batch, key='latency'):
    for r in (doc or {}).get(key, []):
        if r['batch'] == batch:
            return r
    return None


def peer_train(doc, member, batch, bf16):
    for r in (doc or {}).get('train', []):
        if r['model'] == member and r['batch'] == batch and r['bf16'] == bf16:
            return r
    return None


def print_table(rows, md):
    head = ['figure', 'unit', 'spikecast', 'peer', 'tuned peer', 'vs peer', 'vs tuned']
    table = [[f, u, fmt(o), fmt(p), fmt(t), ratio(o, p, hib), ratio(o, t, hib)] for f, u, o, p, t, hib in rows]
    if md:
        print('| ' + ' | '.join(head) + ' |')
        print('|' + '---|' * len(head))
        for r in table:
            print('| ' + ' | '.join(r) + ' |')
    else:
        w = [max(len(str(r[i])) for r in table + [head]) for i in range(len(head))]
        for r in [head] + table:
            print('  '.join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i]) for i, c in enumerate(r)))


def main_cpu(d, md):
    ours, peer = load(d, 'ours_cpu.json'), load(d, 'peer_cpu.json')
    members = ['lstm', 'gru', 'cnn_lstm', 'spike', 'rule']
    rows = []
    batches = sorted({r['batch'] for r in (ours or {}).get('train', [])} | {r['batch'] for r in (peer or {}).get('train', [])})
    for bs in batches:
        for m in members:
            o, p = ours_train(ours, m, bs), peer_train(peer, m, bs, False)
            rows.append((f'train {m} bs{bs} fp32', 'samples/s', o and o['samples_per_s'], p and p['samples_per_s'], None, True))
        o = (ours or {}).get('train_all_members', {}).get(str(bs))
        ps = [peer_train(peer, m, bs, False) for m in members]
        rows.append((f'epoch, all five, bs{bs}', 's (781,163)', o and o['users_epoch_s'],
                     sum(r['epoch_s_781k'] for r in ps) if all(ps) else None, None, False))
    for bs in (1, 32, 1000):
        o = ours_latency(ours, bs)
        p = (peer or {}).get('ensemble_latency', {}).get(str(bs))
        rows.append((f'ensemble p50 bs{bs}', 'ms', o and o['p50_ms'], p and p['p50_ms'], None, False))
        rows.append((f'ensemble p99 bs{bs}', 'ms', o and o['p99_ms'], p and p['p99_ms'], None, False))
    print(f"ours_cpu: {ours.get('device')} {ours.get('date')}; {ours.get('runtime')}" if ours else 'ours_cpu: missing')
    print(f"peer_cpu: torch {peer.get('torch')}" if peer else 'peer_cpu: missing')
    print_table(rows, md)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('OUT', '.')
    md = '--markdown' in sys.argv
    if '--cpu' in sys.argv:
        return main_cpu(d, md)
    fp32, bf16 = load(d, 'ours_fp32.json'), load(d, 'ours_bf16.json')
    peer, tuned, tinf = load(d, 'peer_cuda.json'), load(d, 'tuned.json'), load(d, 'tuned_infer.json')
    tl = tuned_lines(d)
    rows = []  # (figure, unit, ours, peer, tuned, higher_is_better)
    members = ['lstm', 'gru', 'cnn_lstm', 'spike', 'rule']

    for m in members:
        o = ours_train(fp32, m, 32)
        p = peer_train(peer, m, 32, False)
        rows.append((f'train {m} bs32 fp32', 'samples/s', o and o['samples_per_s'], p and p['samples_per_s'], None, True))
    for bs in (1024, 4096):
        for m in members:
            o = ours_train(bf16, m, bs)
            p = peer_train(peer, m, bs, True)
            t = max((r['samples_per_s'] for r in tl if r['model'] == m and r['bs'] == bs), default=None)
            rows.append((f'train {m} bs{bs} bf16', 'samples/s', o and o['samples_per_s'], p and p['samples_per_s'], t, True))

    def all5(doc, bs):
        v = (doc or {}).get('train_all_members', {}).get(str(bs))
        return v and v['users_epoch_s']

    def peer_all5(bs, bf):
        rs = [peer_train(peer, m, bs, bf) for m in members]
        return sum(r['epoch_s_781k'] for r in rs) if all(rs) else None

    rows.append(('epoch, all five, bs32 fp32', 's (781,163)', all5(fp32, 32), peer_all5(32, False), None, False))
    t1024 = (tuned or {}).get('bs1024_graphTrue_sequential_epoch_s')
    rows.append(('epoch, all five, bs1024 bf16', 's (781,163)', all5(bf16, 1024), peer_all5(1024, True), t1024, False))
    t4096 = [v for k, v in (tuned or {}).items() if k.startswith('bs4096') and isinstance(v, (int, float))]
    rows.append(('epoch, all five, bs4096 bf16', 's (781,163)', all5(bf16, 4096), None, min(t4096) if t4096 else None, False))
    # Side by side (each member on its own thread and stream), as `spikecast train` runs on CUDA;
    # the tuned peer's figure is its five streams at batch 4096.
    t_conc = (tuned or {}).get('bs4096_concurrent_streams_epoch_s')
    for v in (bf16 or {}).get('train_together', []):
        rows.append((f"epoch, all five side by side, bs{v['batch']} bf16", 's (781,163)', v['users_epoch_s'], None,
                     t_conc if v['batch'] >= 4096 else None, False))

    for m in members:
        o = ours_train(fp32, m, 32)
        p = peer_train(peer, m, 32, False)
        om = o and o['memory'].get('peak_mib')
        rows.append((f'peak train memory {m} bs32 fp32', 'MiB', om, p and p['peak_mib'], None, False))

    for bs in (1, 32, 1000):
        o32, o16 = ours_latency(fp32, bs), ours_latency(bf16, bs)
        p = (peer or {}).get('ensemble_latency', {}).get(str(bs))
        t32 = (tinf or {}).get(f'fp32_bs{bs}')
        t16 = (tinf or {}).get(f'bf16_bs{bs}')
        rows.append((f'ensemble p50 bs{bs} fp32', 'ms', o32 and o32['p50_ms'], p and p['p50_ms'], t32 and t32['p50_ms'], False))
        rows.append((f'ensemble p99 bs{bs} fp32', 'ms', o32 and o32['p99_ms'], p and p['p99_ms'], t32 and t32['p99_ms'], False))
        rows.append((f'ensemble p50 bs{bs} bf16', 'ms', o16 and o16['p50_ms'], None, t16 and t16['p50_ms'], False))
        g32, g16 = ours_latency(fp32, bs, 'latency_graphs'), ours_latency(bf16, bs, 'latency_graphs')
        if g32 or g16:  # the tuned peer's figures are CUDA graph replays too (tuned_infer.py)
            rows.append((f'ensemble CUDA graph p50 bs{bs} fp32', 'ms', g32 and g32['p50_ms'], p and p['p50_ms'], t32 and t32['p50_ms'], False))
            rows.append((f'ensemble CUDA graph p50 bs{bs} bf16', 'ms', g16 and g16['p50_ms'], None, t16 and t16['p50_ms'], False))
    for doc, prec in ((fp32, 'fp32'), (bf16, 'bf16')):
        for r in (doc or {}).get('member_latency_graphs', []):
            rows.append((f"member {r['member']} alone, CUDA graph p50 bs1 {prec}", 'ms', r['p50_ms'], None, None, False))
    for doc, prec in ((fp32, 'fp32'), (bf16, 'bf16')):
        for r in (doc or {}).get('latency_in_turn', []):
            rows.append((f"ensemble members in turn p50 bs{r['batch']} {prec}", 'ms', r['p50_ms'], None, None, False))
    for r in (bf16 or {}).get('throughput', []):
        t = (tinf or {}).get(f"bf16_bs{r['batch']}_eager")
        rows.append((f"ensemble throughput bs{r['batch']} bf16", 'windows/s', r['windows_per_s'], None, t and t['windows_per_s'], True))

    pb, pbt = load(d, 'peer_budget.json'), load(d, 'peer_budget_tuned.json')

    def peer_best(doc, member):
        r = [b for b in (doc or {}).get('budget', []) if b['member'] == member]
        return r[0]['best_val_loss'] if r else None

    for b in (bf16 or {}).get('budget', []):
        label = f"val MSE after {b['budget_s']:.0f} s, {b['member']} bs{b['batch']}"
        if pbt and pbt.get('budget'):
            label += f" (tuned peer bs{pbt['budget'][0]['batch']})"
        rows.append((label, 'MSE', b['best_val_loss'], peer_best(pb, b['member']), peer_best(pbt, b['member']), False))
    mm = (bf16 or {}).get('matmul_tflops')
    if mm:
        rows.append((f"matmul {mm['dtype']} n={mm['n']}", 'TFLOP/s', mm['tflops'], None, None, True))
        fl = bf16['flops']
        rows.append(('FLOP floor, epoch of all five', 's (781,163)', fl.get('floor_epoch_s_users'), None, None, False))

    for doc, name in ((fp32, 'ours_fp32'), (bf16, 'ours_bf16')):
        if doc:
            print(f"{name}: {doc.get('device')} {doc.get('precision')} {doc.get('date')}; data {doc.get('data', {}).get('rows')} rows; {doc.get('runtime')}")
            if doc.get('errors'):
                print(f"  errors: {json.dumps(doc['errors'])}")
        else:
            print(f'{name}: missing')
    for doc, name in ((peer, 'peer'), (tuned, 'tuned'), (tinf, 'tuned_infer'), (pb, 'peer_budget'), (pbt, 'peer_budget_tuned')):
        print(f"{name}: {'present' if doc else 'missing'}" + (f" ({doc.get('device')}, torch {doc.get('torch')})" if doc and 'device' in doc else ''))
    print_table(rows, md)

if __name__ == '__main__':
    main()
