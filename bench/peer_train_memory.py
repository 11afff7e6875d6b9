#!/usr/bin/env python3
"""Peak training memory of the peer's members (../shared/bench/peer), the figure `spikecast bench`
reports per member: torch.cuda.max_memory_allocated over timed optimizer steps, the resident data
and the cuBLAS workspace included.

The step is the peer's own (bench.py's train_rate: its series of 781,163 windows of 100 x 12 resident
on the card, windows gathered on the device, Adam at 1e-3, MSE on feature 0 one step ahead, 10 steps
of warm-up, then the peak over the timed steps). Unlike bench.py, which keeps every member it has
measured on the card, each member runs in a process of its own, so no member's figure includes
another's weights.

Usage: bench/peer_train_memory.py PEER_DIR [--batch 32] [--steps 30] [--bf16] [--members lstm,gru,...]
Prints one JSON object per member and writes them to $OUT/peer_train_memory.json when OUT is set.
"""
import argparse
import json
import os
import subprocess
import sys

NAMES = ['lstm', 'gru', 'cnn_lstm', 'spike', 'rule']


def measure(peer, name, batch, steps, bf16):
    sys.path.insert(0, peer)
    import torch
    import torch.nn as nn
    from models import all_members, F_IN

    dev = 'cuda'
    n, w = 781_163, 100
    torch.manual_seed(0)
    t = torch.arange(n, dtype=torch.float32)
    series = torch.randn(n, F_IN).cumsum(0) * 0.01 + torch.sin(t / 144.0)[:, None]
    series = ((series - series.mean(0)) / series.std(0)).to(dev)
    torch.cuda.synchronize()
    resident = torch.cuda.memory_allocated()
    model = all_members()[NAMES.index(name)].to(dev).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    lossf = nn.MSELoss()
    ar = torch.arange(w, device=dev)

    def step():
        idx = torch.randint(0, n - w - 1, (batch,), device=dev)
        x, y = series[idx[:, None] + ar], series[idx + w, :1]
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=bf16):
            out = model(x)
            out = out[0] if isinstance(out, tuple) else out
            loss = lossf(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    return {'member': name, 'batch': batch, 'bf16': bf16, 'channels': F_IN, 'torch': torch.__version__,
            'device': torch.cuda.get_device_name(), 'resident_data_mib': resident / 2**20,
            'peak_mib': torch.cuda.max_memory_allocated() / 2**20,
            'parameters': sum(p.numel() for p in model.parameters())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('peer')
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--steps', type=int, default=30)
    ap.add_argument('--bf16', action='store_true')
    ap.add_argument('--members', default=','.join(NAMES))
    ap.add_argument('--one', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if not os.path.isfile(os.path.join(a.peer, 'models.py')):
        sys.exit(f'{a.peer}: not the peer\'s directory (no models.py)')
    if a.one:
        print(json.dumps(measure(os.path.abspath(a.peer), a.one, a.batch, a.steps, a.bf16)), flush=True)
        return
    rows = []
    for name in a.members.split(','):
        if name not in NAMES:
            sys.exit(f'unknown member {name!r} (one of {", ".join(NAMES)})')
        cmd = [sys.executable, os.path.abspath(__file__), a.peer, '--one', name, '--batch', str(a.batch),
               '--steps', str(a.steps)] + (['--bf16'] if a.bf16 else [])
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f'{name}: the measurement failed:\n{done.stderr}')
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    if os.environ.get('OUT'):
        with open(os.path.join(os.environ['OUT'], 'peer_train_memory.json'), 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
