// The gate functions over a whole array: what the cell kernels compute inline, exported so that
// tests can hold them against float64 math over the full input range.
import { sig4, tanh4 } from './simd-math';

/** y[i] = sigmoid(x[i]) (kind 0) or tanh(x[i]) (kind 1) for n floats, n a multiple of 4. */
export function activate(kind: i32, x: usize, y: usize, n: i32): void {
  for (let i = 0; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const v = v128.load(x + o);
    v128.store(y + o, kind == 0 ? sig4(v) : tanh4(v));
  }
}
