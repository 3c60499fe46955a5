// Adam with torch's update, four parameters at a time (see core's src/optim/adam-math.ts).

export function adam(
  param: usize,
  grad: usize,
  m: usize,
  v: usize,
  n: i32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weightDecay: f32,
  bc1: f32,
  bc2sqrt: f32,
): void {
  const stepSize = lr / bc1;
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1);
  const c2 = f32x4.splat(1 - beta2);
  const wd = f32x4.splat(weightDecay);
  const ss = f32x4.splat(stepSize);
  const ep = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i * 4;
    const pv = v128.load(param + o);
    let g = v128.load(grad + o);
    if (weightDecay != 0) g = f32x4.add(g, f32x4.mul(wd, pv));
    const mv = f32x4.add(f32x4.mul(b1, v128.load(m + o)), f32x4.mul(c1, g));
    const vv = f32x4.add(f32x4.mul(b2, v128.load(v + o)), f32x4.mul(f32x4.mul(c2, g), g));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    const den = f32x4.add(f32x4.div(f32x4.sqrt(vv), f32x4.splat(bc2sqrt)), ep);
    v128.store(param + o, f32x4.sub(pv, f32x4.div(f32x4.mul(ss, mv), den)));
  }
  for (; i < n; i++) {
    const o = <usize>i * 4;
    const pv = load<f32>(param + o);
    let g = load<f32>(grad + o);
    if (weightDecay != 0) g += weightDecay * pv;
    const mv = beta1 * load<f32>(m + o) + (1 - beta1) * g;
    const vv = beta2 * load<f32>(v + o) + (1 - beta2) * g * g;
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(param + o, pv - (stepSize * mv) / (Mathf.sqrt(vv) / bc2sqrt + eps));
  }
}
