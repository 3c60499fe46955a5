import { Cell, getBackend, type HostTensor } from '@bistable/core';

const backend = await getBackend('reference');
const cell = new Cell(backend, { cell: 'nBRC', inputSize: 3, hiddenSize: 4, dtype: 'float64', seed: 7 });

// torch's names and shapes: kernelz [3, 4], memoryz [4, 4], bz [4], …
const params = await cell.getParameters();
console.log(Object.entries(params).map(([name, t]) => `${name} [${t.shape.join(', ')}]`));

// a batch of 2 sequences of 5 steps, fed one step at a time
const B = 2;
let h: HostTensor = { shape: [B, 4], data: new Float64Array(B * 4) };
for (let t = 0; t < 5; t++) {
  const x = { shape: [B, 3], data: Float64Array.from({ length: B * 3 }, (_, i) => Math.sin(t + i)) };
  ({ h } = await cell.step(x, h));
}
console.log('h after 5 steps:', Array.from(h.data, (v) => v.toFixed(4)).join(' '));
cell.dispose();
