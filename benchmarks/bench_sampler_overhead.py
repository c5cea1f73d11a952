"""EB-Sampler's own work per forward pass, against one forward pass of the denoiser.

Targets (issue 4): per-pass sampler work <= 5% of a ``small`` forward at batch 64 on the CPU,
<= 10% at batch 1024 on the GPU.

What is timed, per device (medians over ``--repeats``):

* ``forward``: one forward pass of a random-init ``Denoiser`` (bf16 autocast on CUDA), 9x9
  Sudoku tokens with about half the cells masked. Random weights cost the same as trained ones.
* ``select``: EB's selection alone on those logits: softmax, entropy, sort, cumsum/cummax,
  rank mask and scatter (``EBSampler.select``).
* ``loop/pass``: everything ``Sampler.sample`` does per pass besides calling the model (the
  selection, argmax, active-row bookkeeping and write-back, the one host sync per pass), with
  ``record=False`` as ``unmask solve`` runs it and with ``record=True``. Measured by sampling
  with a stub model that returns fixed logits, on rows with exactly K masked cells and
  gamma = 0 (one cell per pass), so every pass is a full-batch pass: time / K.

Run: ``python benchmarks/bench_sampler_overhead.py [--devices cpu,cuda] [--json out.json]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _report import write_json

from models.config import ModelConfig
from models.denoiser import Denoiser
from puzzles.task import get_task
from sampling.samplers import EBSampler
from sampling.solve import forward_fn
from sampling.stats import CellStats


def _timeit(fn, device: torch.device, repeats: int, warmup: int = 3) -> float:
    """Median milliseconds of fn() (synchronised on CUDA)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def measure(device: torch.device, batch: int, preset: str, repeats: int, k: int) -> dict:
    spec = get_task("sudoku").spec(9)
    torch.manual_seed(0)
    model = Denoiser(ModelConfig.from_spec(spec, preset)).to(device).eval()
    fn = forward_fn(model, device)
    L, V = spec.num_cells, spec.num_values
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, V, (batch, L), generator=g)
    tokens[torch.rand(batch, L, generator=g) < 0.55] = spec.mask_id
    tokens = tokens.to(device)  # (B, L) ~45 masked cells per row
    masked = tokens == spec.mask_id

    with torch.inference_mode():
        forward_ms = _timeit(lambda: fn(tokens), device, repeats)
        logits = fn(tokens).float()  # (B, L, V)
        eb = EBSampler(0.1)
        select_ms = _timeit(lambda: eb.select(CellStats(logits), masked, 1, None), device, repeats)

    # Rows with exactly k masked cells; random logits have no zero entropy, so gamma = 0
    # reveals one cell per row per pass and all rows stay active for k passes.
    fixed = torch.randn(batch, L, V, generator=g).to(device)  # (B, L, V)
    ktok = torch.randint(0, V, (batch, L), generator=g)
    ktok[:, torch.randperm(L, generator=g)[:k]] = spec.mask_id
    ktok = ktok.to(device)

    def stub(t):
        return fixed

    def run(record: bool):
        res = EBSampler(0.0).sample(stub, ktok, spec.mask_id, record=record)
        assert int(res.nfe.max()) == k
        return res

    loop_ms = _timeit(lambda: run(False), device, max(3, repeats // 4)) / k
    loop_rec_ms = _timeit(lambda: run(True), device, max(3, repeats // 4)) / k
    return {
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "threads": torch.get_num_threads(),
        "batch": batch,
        "preset": preset,
        "parameters": model.num_parameters(),
        "forward_ms": forward_ms,
        "select_ms": select_ms,
        "loop_pass_ms": loop_ms,
        "loop_pass_record_ms": loop_rec_ms,
        "select_pct": 100 * select_ms / forward_ms,
        "loop_pct": 100 * loop_ms / forward_ms,
        "loop_record_pct": 100 * loop_rec_ms / forward_ms,
        "target_pct": 10.0 if device.type == "cuda" else 5.0,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", default="cpu,cuda", help="comma list; cuda skipped if absent")
    p.add_argument("--cpu-batch", type=int, default=64)
    p.add_argument("--gpu-batch", type=int, default=1024)
    p.add_argument("--preset", default="small")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--k", type=int, default=16, help="passes per loop measurement")
    p.add_argument("--json", default="bench_sampler_overhead.json")
    args = p.parse_args()

    rows = []
    for name in args.devices.split(","):
        if name == "cuda" and not torch.cuda.is_available():
            print("(no CUDA device: GPU row skipped)")
            continue
        device = torch.device(name)
        batch = args.gpu_batch if device.type == "cuda" else args.cpu_batch
        rows.append(measure(device, batch, args.preset, args.repeats, args.k))

    print(
        "\n| device | batch | forward ms | EB select ms | loop/pass ms | loop/pass rec. ms "
        "| select % | loop % | loop rec. % | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['device_name']} ({r['threads']} thr) | {r['batch']} | {r['forward_ms']:.3f} "
            f"| {r['select_ms']:.3f} | {r['loop_pass_ms']:.3f} | {r['loop_pass_record_ms']:.3f} "
            f"| {r['select_pct']:.1f} | {r['loop_pct']:.1f} | {r['loop_record_pct']:.1f} "
            f"| <= {r['target_pct']:.0f}% |"
        )
    print(
        f"\n{args.preset} denoiser, random init ({rows[0]['parameters']:,} parameters), 9x9 Sudoku"
    )
    write_json(args.json, rows)


if __name__ == "__main__":
    main()
