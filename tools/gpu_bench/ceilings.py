#!/usr/bin/env python3
"""The two ceilings of the GPU (METHOD.md's "two numbers"): device-memory bandwidth from a large
device-to-device copy (bytes read + written), and bf16 tensor-core rate from an 8192^3 matmul on
random data. Median of 20 timed runs after warm-up, CUDA events."""
import torch


def median_ms(fn, reps=20):
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[reps // 2]


src = torch.empty(2 << 30, dtype=torch.uint8, device="cuda").random_()
dst = torch.empty_like(src)
ms = median_ms(lambda: dst.copy_(src))
print(f"copy 2 GiB: {ms:.3f} ms, {2 * src.numel() / ms / 1e9:.2f} TB/s (read + write)")
n = 8192
a = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
b = torch.randn(n, n, dtype=torch.bfloat16, device="cuda")
ms = median_ms(lambda: a @ b)
print(f"bf16 matmul {n}^3: {ms:.3f} ms, {2 * n ** 3 / ms / 1e9:.0f} TFLOP/s")
