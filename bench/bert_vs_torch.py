#!/usr/bin/python3
"""BERT-base on the CPU: our engine against PyTorch, in one script, printing the ratios.

Runs BertModel with the bert-base-uncased config (random weights, fp32, batch 1, seq 128) in
PyTorch (Debian's python3-torch, eager, torch.inference_mode, best of N) at 1 and 2 threads, and
`dissect run bert-base-uncased` (median of N) in fp32 and bf16 at the same thread counts. Prints
latency, effective GFLOP/s (FLOPs from `dissect analyze ... --format json`, flops_total), the ratio
to PyTorch's best setting and to BERT-base's GEMM ceiling (bench_gemm --only model-ceiling, measured
just before each of our runs), and GPT-2 decode tokens/s against the memory-bandwidth floor (weight
bytes / bandwidth from bench_gemm --only bandwidth).

Timing belongs here, never in tests. Run it on a quiet machine (bench/run_bert_vs_torch.sh) and
record the table, the machine and the date in docs/PERFORMANCE.md.
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time


class BenchError(Exception):
    """A missing tool or feature: reported in one clear line, the rest of the table still prints."""


# ---------------------------------------------------------------------------------------------
# PyTorch side: BertModel written out with torch.nn (no transformers package on the machine).
# Same computation as Hugging Face's eager BertModel: embeddings (word + position + token type 0)
# -> LayerNorm -> 12 post-norm layers (self-attention, GELU MLP) -> pooler (dense + tanh on token 0).

BERT_BASE = dict(vocab=30522, hidden=768, layers=12, heads=12, ffn=3072, positions=512, types=2, eps=1e-12)


def torch_blas_note():
    """Which BLAS PyTorch's default (eager) linear layers use here: Debian's python3-torch is built with
    BLAS_INFO=generic and calls whatever libblas.so.3 the alternatives system points at (the netlib
    reference BLAS unless OpenBLAS/BLIS is installed), so its default speed depends on that package."""
    import torch
    m = re.search(r"BLAS_INFO=(\w+)", torch.__config__.show())
    lib = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    real = os.path.realpath(lib) if os.path.exists(lib) else "not found"
    return f"BLAS_INFO={m.group(1) if m else '?'}, libblas.so.3 -> {real}"


def set_openblas_threads(threads):
    """Debian's torch calls libblas.so.3 without telling it torch's thread count; OpenBLAS (pthread
    build) would use every core in the "1 thread" setting too. Returns what was set, or None."""
    import ctypes
    try:
        blas = ctypes.CDLL("libblas.so.3")
        blas.openblas_set_num_threads(ctypes.c_int(threads))
        return blas.openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def torch_bert_latencies(threads, seq, iters, warmup, backend, budget_s):
    """Latencies in ms. backend 'eager': nn.Linear through PyTorch's BLAS; 'mkldnn': the same model
    after torch.utils.mkldnn.to_mkldnn (linears through oneDNN). Stops early once budget_s is spent
    (at least one timed run), so a slow BLAS does not hold the machine for minutes."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise BenchError(f"PyTorch is not importable ({e}); install Debian's python3-torch and use /usr/bin/python3")
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    set_openblas_threads(threads)
    c = BERT_BASE
    H, D = c["hidden"], c["hidden"] // c["heads"]

    def lin(n_out, n_in):
        return torch.nn.Linear(n_in, n_out)

    class Layer(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.q, self.k, self.v, self.o = lin(H, H), lin(H, H), lin(H, H), lin(H, H)
            self.ln1 = torch.nn.LayerNorm(H, eps=c["eps"])
            self.up, self.down = lin(c["ffn"], H), lin(H, c["ffn"])
            self.ln2 = torch.nn.LayerNorm(H, eps=c["eps"])

        def forward(self, x):
            b, s, _ = x.shape
            split = lambda t: t.view(b, s, c["heads"], D).transpose(1, 2)
            q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
            p = torch.softmax(q @ k.transpose(-1, -2) / D ** 0.5, dim=-1)
            ctx = (p @ v).transpose(1, 2).reshape(b, s, H)
            x = self.ln1(x + self.o(ctx))
            return self.ln2(x + self.down(F.gelu(self.up(x))))

    class Bert(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.word = torch.nn.Embedding(c["vocab"], H)
            self.pos = torch.nn.Embedding(c["positions"], H)
            self.token_type = torch.nn.Embedding(c["types"], H)
            self.ln = torch.nn.LayerNorm(H, eps=c["eps"])
            self.layers = torch.nn.ModuleList(Layer() for _ in range(c["layers"]))
            self.pool = lin(H, H)

        def forward(self, ids):
            s = ids.shape[1]
            x = self.word(ids) + self.pos(torch.arange(s)) + self.token_type(torch.zeros_like(ids))
            x = self.ln(x)
            for layer in self.layers:
                x = layer(x)
            return x, torch.tanh(self.pool(x[:, 0]))

    model = Bert().eval()
    for p in model.parameters():
        torch.nn.init.normal_(p, 0.0, 0.02)
    if backend == "mkldnn":
        from torch.utils import mkldnn as torch_mkldnn
        model = torch_mkldnn.to_mkldnn(model)
    ids = torch.randint(0, c["vocab"], (1, seq))
    times = []
    start = time.perf_counter()
    with torch.inference_mode():
        for _ in range(warmup):
            model(ids)
            if time.perf_counter() - start > budget_s:
                break
        for _ in range(iters):
            t0 = time.perf_counter()
            model(ids)
            times.append((time.perf_counter() - t0) * 1e3)
            if time.perf_counter() - start > budget_s:
                break
    return times


# ---------------------------------------------------------------------------------------------
# Our side: the dissect CLI.

def run_json(cmd, what):
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError:
        raise BenchError(f"{what}: {cmd[0]} not found")
    if out.returncode != 0:
        msg = (out.stderr.strip() or out.stdout.strip()).splitlines()
        raise BenchError(f"{what}: `{' '.join(cmd)}` exited {out.returncode}: {msg[-1] if msg else 'no message'}")
    try:
        return json.loads(out.stdout)
    except json.JSONDecodeError as e:
        raise BenchError(f"{what}: `{' '.join(cmd)}` did not print JSON ({e})")


UNIT_TO_MS = {"ms": 1.0, "s": 1e3, "us": 1e-3, "ns": 1e-6}


def walk(node, path=()):
    """Yields (path, value) for every leaf of a JSON document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from walk(v, path + (str(k),))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, path + (str(i),))
    else:
        yield path, node


def find_median_ms(doc, what):
    """The whole-model median latency in ms, from keys such as latency.median_ms or median_s.

    Per-component entries (under a 'components' list) are skipped."""
    candidates = []
    for path, value in walk(doc):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or "components" in path:
            continue
        key = "_".join(path).lower()
        if "median" not in key:
            continue
        m = re.search(r"_(ms|s|us|ns)$", key)
        unit = m.group(1) if m else ("ms" if "ms" in key else None)
        if unit is None:
            continue
        candidates.append((len(path), key, value * UNIT_TO_MS[unit]))
    if not candidates:
        keys = sorted({"_".join(p) for p, _ in walk(doc)})[:40]
        raise BenchError(f"{what}: no median latency (a key with 'median' and a unit suffix) in the JSON; keys: {keys}")
    candidates.sort()  # the shallowest key is the whole model's
    return candidates[0][2], candidates[0][1]


def find_number(doc, names, what):
    for path, value in walk(doc):
        if path and path[-1] in names and isinstance(value, (int, float)) and "components" not in path:
            return value
    raise BenchError(f"{what}: none of {names} in the JSON")


def ours_latency(dissect, model, seq, threads, dtype, iters, warmup, extra=()):
    cmd = [dissect, "run", model, "--seq", str(seq), "--threads", str(threads), "--dtype", dtype,
           "--iters", str(iters), "--warmup", str(warmup), "--format", "json", *extra]
    doc = run_json(cmd, f"dissect run {model} {dtype} {threads} thr")
    return find_median_ms(doc, "dissect run")[0], doc


def bench_gemm_lines(bench_gemm, only, threads, seconds):
    if not bench_gemm or not os.path.exists(bench_gemm):
        raise BenchError(f"bench_gemm not found at {bench_gemm} (build it: cmake --build build --target bench_gemm)")
    out = subprocess.run([bench_gemm, "--only", only, "--threads", ",".join(map(str, threads)), "--seconds", str(seconds)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise BenchError(f"bench_gemm --only {only} exited {out.returncode}: {out.stderr.strip()}")
    return out.stdout.splitlines()


def model_ceiling(bench_gemm, threads):
    """BERT-base's GEMM ceiling at `threads`, measured now (the machine's speed drifts between windows,
    so each of our runs is compared with a ceiling taken just before it): {path: GFLOP/s} for the paths
    bench_gemm prints ("fp32" = our panel GEMM, "fp32 oneDNN", "bf16"). Each is BERT's matmul shapes run
    hot, FLOP-weighted (harmonic mean): the time a forward pass would take if it were only its matmuls
    at that speed."""
    found = {}
    for line in bench_gemm_lines(bench_gemm, "model-ceiling", [threads], 1.0):
        m = re.match(r"^model-ceiling bert-base (.+) (\d+) thr:.*=> ([\d.]+) GFLOP/s$", line.strip())
        if m:
            found[m.group(1)] = float(m.group(3))
    if "fp32" not in found:
        raise BenchError("bench_gemm --only model-ceiling printed no fp32 line")
    return found


def bandwidths(bench_gemm, threads):
    for line in bench_gemm_lines(bench_gemm, "bandwidth", threads, 1.0):
        if line.startswith("memory bandwidth"):
            return {int(t): float(v) for t, v in re.findall(r"(\d+) thr ([\d.]+) GB/s", line)}
    raise BenchError("bench_gemm --only bandwidth printed no bandwidth line")


# ---------------------------------------------------------------------------------------------

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dissect", default=os.environ.get("DISSECT", os.path.join(root, "build", "dissect")))
    ap.add_argument("--bench-gemm", default=os.environ.get("BENCH_GEMM", os.path.join(root, "build", "bench_gemm")))
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--decode-kv-len", type=int, default=127, help="GPT-2 decode: tokens already cached")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--torch-backends", default="eager,mkldnn",
                    help="PyTorch variants: eager (nn.Linear via its BLAS), mkldnn (torch.utils.mkldnn.to_mkldnn)")
    ap.add_argument("--torch-seconds", type=float, default=60.0, help="time budget per PyTorch setting")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    if shutil.which(args.dissect) is None and not os.path.exists(args.dissect):
        print(f"error: dissect not found at {args.dissect} (build it, or pass --dissect / set DISSECT)", file=sys.stderr)
        return 2

    problems = []
    results = {"machine": platform.processor() or platform.machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "cpus": os.cpu_count(), "seq": args.seq, "rows": []}
    try:
        flops = find_number(run_json([args.dissect, "analyze", "bert-base-uncased", "--seq", str(args.seq), "--format", "json"],
                                     "dissect analyze"), ("flops_total",), "dissect analyze")
    except BenchError as e:
        problems.append(str(e))
        flops = None

    torch_ms = {}  # (threads, backend) -> (best, median, runs)
    backends = [b for b in args.torch_backends.split(",") if b]
    if not args.skip_torch:
        try:
            results["torch_blas"] = torch_blas_note()
            for t in threads:
                for backend in backends:
                    times = torch_bert_latencies(t, args.seq, args.iters, args.warmup, backend, args.torch_seconds)
                    torch_ms[(t, backend)] = (min(times), statistics.median(times), len(times))
        except BenchError as e:
            problems.append(str(e))
    torch_best = min((v[0] for v in torch_ms.values()), default=None)

    rows = []
    for t in threads:
        for backend in backends:
            if (t, backend) in torch_ms:
                best, median, runs = torch_ms[(t, backend)]
                rows.append((f"torch-{backend}", "fp32", t, best, f"best of {runs} (median {median:.1f})", None))
        for dtype in ("fp32", "bf16"):
            try:
                ceiling = model_ceiling(args.bench_gemm, t)
                ms, doc = ours_latency(args.dissect, "bert-base-uncased", args.seq, t, dtype, args.iters, args.warmup)
                p10 = doc.get("latency", {}).get("p10_ms")
                rows.append(("clear", dtype, t, ms, f"median of {args.iters}" + (f"; p10 {p10:.1f} ms = "
                             f"{torch_best / p10:.2f}x torch best, best against best" if p10 and torch_best else ""), ceiling))
            except BenchError as e:
                problems.append(str(e))

    print(f"BERT-base, batch 1, seq {args.seq}, random weights; {results['date']}; {results['cpus']} CPUs; "
          f"FLOPs {flops / 1e9:.2f} G (dissect analyze)" if flops else "FLOPs: unknown")
    print("GEMM ceiling: BERT-base's matmul shapes hot, FLOP-weighted (bench_gemm --only model-ceiling), measured just "
          "before each of our runs; 'of oneDNN' is the issue's ceiling (oneDNN's fp32 GEMM; bf16 rows: oneDNN bf16), "
          "'of panel' our own fp32 GEMM's")
    if "torch_blas" in results:
        print(f"PyTorch {results['torch_blas']}; 'vs torch best' divides by the fastest PyTorch row")
    header = (f"{'engine':12} {'dtype':5} {'thr':>3} {'ms':>9} {'GFLOP/s':>8} {'vs torch best':>13} {'of oneDNN':>16} "
              f"{'of panel':>14}  note")
    print(header)
    print("-" * len(header))
    fmt = lambda v, f: (f.format(v) if v is not None else "n/a")
    for engine, dtype, t, ms, note, ceiling in rows:
        gflops = flops / (ms * 1e-3) / 1e9 if flops else None
        speedup = torch_best / ms if torch_best else None
        onednn = (ceiling or {}).get("fp32 oneDNN" if dtype == "fp32" else "bf16")
        panel = (ceiling or {}).get("fp32") if dtype == "fp32" else None
        of_onednn = gflops / onednn if gflops and onednn else None
        of_panel = gflops / panel if gflops and panel else None
        cell = lambda frac, c: f"{fmt(frac, '{:.0%}')} of {c:.0f}" if frac is not None else "n/a"
        print(f"{engine:12} {dtype:5} {t:>3} {ms:>9.1f} {fmt(gflops, '{:.1f}'):>8} {fmt(speedup, '{:.2f}x'):>13} "
              f"{cell(of_onednn, onednn or 0):>16} {cell(of_panel, panel or 0):>14}  {note}")
        results["rows"].append(dict(engine=engine, dtype=dtype, threads=t, ms=ms, gflops=gflops,
                                    speedup_vs_torch_best=speedup, gemm_ceilings=ceiling,
                                    fraction_of_onednn_ceiling=of_onednn, fraction_of_panel_ceiling=of_panel, note=note))
    print("goals: fp32 2 thr >= 1.5x torch best and >= 85% of the 2-thread ceiling; fp32 1 thr >= 85% of the "
          "1-thread ceiling; bf16 >= 3x torch best fp32")

    # GPT-2 decode: one token with kv_len cached tokens; tokens/s against weight bytes / bandwidth.
    print()
    try:
        bandwidth = bandwidths(args.bench_gemm, threads)
    except BenchError as e:
        problems.append(str(e))
        bandwidth = {}
    try:
        weights = find_number(run_json([args.dissect, "analyze", "gpt2", "--format", "json"], "dissect analyze gpt2"),
                              ("weights_bytes",), "dissect analyze gpt2")
        for t in threads:
            ms, _ = ours_latency(args.dissect, "gpt2", 1, t, "fp32", args.iters, args.warmup,
                                 ("--phase", "decode", "--kv-len", str(args.decode_kv_len)))
            tok_s = 1e3 / ms
            bw = bandwidth.get(t)
            floor = bw * 1e9 / weights if bw else None
            print(f"GPT-2 decode fp32 {t} thr, kv_len {args.decode_kv_len}: {ms:.2f} ms/token = {tok_s:.1f} tokens/s; "
                  + (f"bandwidth floor {floor:.1f} tokens/s ({weights / 1e6:.0f} MB of weights / {bw:.1f} GB/s) -> {tok_s / floor:.0%}"
                     if floor else "no bandwidth measurement"))
            results["rows"].append(dict(engine="clear", model="gpt2", phase="decode", threads=t, ms=ms, tokens_per_s=tok_s,
                                        bandwidth_floor_tokens_per_s=floor))
    except BenchError as e:
        problems.append(str(e))

    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(results, f, indent=2)
        os.replace(args.json + ".tmp", args.json)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
