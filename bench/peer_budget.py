#!/usr/bin/env python3
"""The peer's side of the fixed-budget validation run (issue 7: "validation loss after a fixed time
budget no worse than the peer's"): each of the peer's members (../shared/bench/peer/models.py)
trained from scratch for the same wall-clock budget, on the same windows, validated on the same
windows, as `spikecast bench --phases budget --budget-export DIR` trained ours.

The windows come from DIR (src/bench/budget_export.h): the scaled series (series.f32, channel 0 the
target), the start rows of the training pool (train.i64) and of the validation windows (val.i64).
A window starting at s has inputs rows [s, s + L) and targets rows [s + L, s + L + H) of channel 0.
The members are built with f_in = the series' channels and horizon = H.

The loop is spikecast's budget run (src/bench/train_throughput.cc, measure_budget) in the peer's
step: every `eval_steps` steps a fresh random permutation of the training pool gives that many
batches, then one validation pass over the validation windows (its time counts inside the budget);
the host checks the deadline before every step; every member takes one untimed step first, so that
no budget pays for the process's CUDA set-up; the best validation MSE (scaled target, every
validation window, all H steps) is the result. The step is the peer's own (bench.py's): Adam at
1e-3, MSE on the target, bf16 autocast unless --fp32; with --graph, tuned.py's: the whole step
captured as a CUDA graph with capturable Adam.

Usage: bench/peer_budget.py DIR PEER_DIR [--budget S] [--batch N] [--eval-steps N] [--graph]
                            [--fp32] [--members lstm,gru,...] [--seed 1] [--tag NAME]
Defaults for budget, batch and eval steps: DIR/meta.json (the values spikecast's run used).
Prints one JSON object per member; writes $OUT/peer_budget[_TAG].json when OUT is set.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

NAMES = ['lstm', 'gru', 'cnn_lstm', 'spike', 'rule']


def load(d):
    meta = json.load(open(os.path.join(d, 'meta.json')))
    series = np.fromfile(os.path.join(d, 'series.f32'), dtype='<f4').reshape(meta['rows'], meta['channels'])
    train = np.fromfile(os.path.join(d, 'train.i64'), dtype='<i8')
    val = np.fromfile(os.path.join(d, 'val.i64'), dtype='<i8')
    if len(train) != meta['train_windows'] or len(val) != meta['val_windows']:
        raise SystemExit(f'{d}: train.i64/val.i64 do not hold the counts meta.json gives')
    return meta, series, train, val


def warm_up(torch, models, meta, args):
    """One small training step of every member, untimed: the process's one-time CUDA, cuBLAS and
    cuDNN set-up would otherwise fall inside the first member's budget (spikecast's budget run comes
    after its training phase in a warm process)."""
    x = torch.randn(8, meta['input_length'], meta['channels'], device=args.device)
    for cls in (models.StackedLSTM, models.ResidualGRU, models.CNNLSTM, models.SpikeDetector, models.RuleLSTM):
        model = cls(f_in=meta['channels'], horizon=meta['horizon']).to(args.device)
        with torch.autocast(args.device, dtype=torch.bfloat16, enabled=not args.fp32):
            out = model(x)
        (out[0] if isinstance(out, tuple) else out).float().sum().backward()
    if args.device == 'cuda':
        torch.cuda.synchronize()


def run_member(torch, models, name, series, train, val, meta, args):
    dev = args.device
    L, H = meta['input_length'], meta['horizon']
    torch.manual_seed(args.seed)
    cls = {'lstm': models.StackedLSTM, 'gru': models.ResidualGRU, 'cnn_lstm': models.CNNLSTM,
           'spike': models.SpikeDetector, 'rule': models.RuleLSTM}[name]
    in_steps = torch.arange(L, device=dev)
    out_steps = torch.arange(L, L + H, device=dev)

    def windows(starts):
        return series[starts[:, None] + in_steps], series[starts[:, None] + out_steps, 0]

    def forward(model, x):
        with torch.autocast(dev, dtype=torch.bfloat16, enabled=not args.fp32):
            out = model(x)
        return (out[0] if isinstance(out, tuple) else out).float()

    def validate(model):
        model.eval()
        se = torch.zeros((), dtype=torch.float64, device=dev)
        with torch.no_grad():
            for b in range(0, len(val), 4096):
                x, y = windows(val[b:b + 4096])
                se += ((forward(model, x) - y) ** 2).sum(dtype=torch.float64)
        model.train()
        return se.item() / (len(val) * H)

    t0 = time.perf_counter()
    model = cls(f_in=meta['channels'], horizon=H).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), 1e-3, capturable=args.graph, foreach=True)
    batch = args.batch
    idx = torch.zeros(batch, dtype=torch.long, device=dev)

    def body():
        x, y = windows(idx)
        loss = torch.nn.functional.mse_loss(forward(model, x), y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=not args.graph)

    step = body
    if args.graph:
        idx.copy_(train[torch.randint(0, len(train), (batch,), device=dev)])
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                body()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            body()
        step = graph.replay

    curve, seen, best = [], 0, float('inf')
    gen = torch.Generator(device=dev)
    gen.manual_seed(args.seed)
    expired = False
    while not expired:
        order = train[torch.randperm(len(train), device=dev, generator=gen)]
        steps = 0
        for k in range(args.eval_steps):
            if time.perf_counter() - t0 >= args.budget:
                expired = True
                break
            b0 = k * batch
            if b0 + batch > len(order):
                break
            idx.copy_(order[b0:b0 + batch])
            step()
            steps += 1
        if steps == 0:
            break
        seen += steps * batch
        mse = validate(model)  # synchronises
        best = min(best, mse)
        curve.append([round(time.perf_counter() - t0, 3), mse, seen])
    return {'member': name, 'batch': batch, 'budget_s': args.budget, 'graph': args.graph,
            'precision': 'fp32' if args.fp32 else 'bf16', 'best_val_loss': best,
            'seconds': round(time.perf_counter() - t0, 3), 'samples': seen, 'curve': curve}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('dir')
    ap.add_argument('peer')
    ap.add_argument('--budget', type=float)
    ap.add_argument('--batch', type=int)
    ap.add_argument('--eval-steps', type=int)
    ap.add_argument('--graph', action='store_true')
    ap.add_argument('--fp32', action='store_true')
    ap.add_argument('--members', default=','.join(NAMES))
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--tag', default='')
    ap.add_argument('--device', default='cuda', help='cuda (the comparison), or cpu for a smoke test')
    args = ap.parse_args()
    meta, series_np, train_np, val_np = load(args.dir)
    args.budget = args.budget if args.budget is not None else meta['budget_s']
    args.batch = args.batch if args.batch is not None else meta['batch']
    args.eval_steps = args.eval_steps if args.eval_steps is not None else meta['eval_steps']

    sys.path.insert(0, args.peer)
    import torch
    import models
    dev = args.device
    if args.graph and dev != 'cuda':
        raise SystemExit('--graph needs --device cuda')
    series = torch.from_numpy(series_np).to(dev)
    train = torch.from_numpy(train_np).to(dev)
    val = torch.from_numpy(val_np).to(dev)
    results = []
    warm_up(torch, models, meta, args)
    for name in args.members.split(','):
        if name not in NAMES:
            raise SystemExit(f'--members: unknown member {name!r} ({", ".join(NAMES)})')
        r = run_member(torch, models, name, series, train, val, meta, args)
        results.append(r)
        print(json.dumps({k: v for k, v in r.items() if k != 'curve'}), flush=True)
    doc = {'device': torch.cuda.get_device_name() if dev == 'cuda' else 'cpu', 'torch': torch.__version__, 'windows': args.dir,
           'meta': meta, 'budget': results}
    out = os.environ.get('OUT')
    if out:
        name = 'peer_budget' + (f'_{args.tag}' if args.tag else '') + '.json'
        json.dump(doc, open(os.path.join(out, name), 'w'), indent=1)


if __name__ == '__main__':
    main()
