"""Times torch's fused nn.GRU on the copy-first-input training step, for side-by-side ratios with
`bistable bench` on the same cores: 2 layers x 100 units, batch 100, input 1, Linear readout of
the last step, MSE, Adam; forward + backward + step, median of N steps after warm-up."""
import json
import statistics
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
rows = []
for T in (100, 300):
    rnn = torch.nn.GRU(1, 100, num_layers=2, batch_first=True)
    fc = torch.nn.Linear(100, 1)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(fc.parameters()))
    x = torch.randn(100, T, 1)
    y = x[:, 0, :].clone()
    times = []
    for i in range(8):
        t0 = time.perf_counter()
        out, _ = rnn(x)
        loss = torch.nn.functional.mse_loss(fc(out[:, -1, :]), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            times.append((time.perf_counter() - t0) * 1000)
    rows.append({"model": "torch nn.GRU", "seqLen": T, "median_ms": statistics.median(times), "min_ms": min(times)})
print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": rows}))
