import { InputError } from '../backend/errors.js';
import { checkPositiveInt } from '../params/validate.js';

/**
 * The learning rate of one gradient step. `step` is the step's 0-based index counted from the
 * first epoch (a resumed fit counts the steps before `initialEpoch` too, so a schedule continues
 * where it left off), `epoch` the 0-based epoch it belongs to.
 */
export type LrSchedule = (step: number, epoch: number) => number;

/**
 * The named schedules, as torch.optim.lr_scheduler defines them:
 *  - constant: `lr` at every step;
 *  - step (StepLR): `lr · gamma^⌊epoch / every⌋`;
 *  - exponential (ExponentialLR): `lr · gamma^epoch`, or `lr · gamma^step` with `per: 'step'`;
 *  - cosine (CosineAnnealingLR, one half period, per step): `minLr + (lr − minLr)(1 + cos(π·step/steps))/2`,
 *    then `minLr` from step `steps` on. `steps` defaults to all the steps of the fit.
 */
export type LrScheduleSpec =
  | { name: 'constant'; lr: number }
  | { name: 'step'; lr: number; gamma: number; every: number }
  | { name: 'exponential'; lr: number; gamma: number; per?: 'epoch' | 'step' }
  | { name: 'cosine'; lr: number; minLr?: number; steps?: number };

const FIELDS: Record<LrScheduleSpec['name'], readonly string[]> = {
  constant: ['lr'],
  step: ['lr', 'gamma', 'every'],
  exponential: ['lr', 'gamma', 'per'],
  cosine: ['lr', 'minLr', 'steps'],
};

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InputError(`${name} must be a positive finite number, got ${String(v)}`);
  }
  return v;
}

/**
 * The schedule a spec names, every field checked (an InputError names the wrong one).
 * `totalSteps` is the cosine schedule's default length; `fit` passes the steps of all its epochs.
 */
export function lrSchedule(spec: LrScheduleSpec, totalSteps?: number): LrSchedule {
  if (!spec || typeof spec !== 'object') {
    throw new InputError(`a learning rate schedule must be a function (step, epoch) => lr or {name, …}`);
  }
  const name = (spec as { name?: unknown }).name;
  if (typeof name !== 'string' || !Object.hasOwn(FIELDS, name)) {
    throw new InputError(
      `unknown learning rate schedule '${String(name)}'; expected one of ${Object.keys(FIELDS).join(', ')}`,
    );
  }
  const fields = FIELDS[name as LrScheduleSpec['name']];
  for (const k of Object.keys(spec)) {
    if (k !== 'name' && !fields.includes(k)) {
      throw new InputError(`the '${name}' schedule has no '${k}'; it takes ${fields.join(', ')}`);
    }
  }
  const s = spec as LrScheduleSpec;
  const lr = positive(`schedule '${name}': lr`, s.lr);
  switch (s.name) {
    case 'constant':
      return () => lr;
    case 'step': {
      const gamma = positive(`schedule 'step': gamma`, s.gamma);
      const every = checkPositiveInt(`schedule 'step': every (epochs)`, s.every);
      return (_step, epoch) => lr * gamma ** Math.floor(epoch / every);
    }
    case 'exponential': {
      const gamma = positive(`schedule 'exponential': gamma`, s.gamma);
      const per = s.per ?? 'epoch';
      if (per !== 'epoch' && per !== 'step') {
        throw new InputError(`schedule 'exponential': per must be 'epoch' or 'step', got ${String(per)}`);
      }
      return per === 'epoch' ? (_step, epoch) => lr * gamma ** epoch : (step) => lr * gamma ** step;
    }
    case 'cosine': {
      const minLr = s.minLr ?? 0;
      if (typeof minLr !== 'number' || !Number.isFinite(minLr) || minLr < 0 || minLr > lr) {
        throw new InputError(
          `schedule 'cosine': minLr must be a number in [0, lr = ${lr}], got ${String(minLr)}`,
        );
      }
      if (s.steps === undefined && totalSteps === undefined) {
        throw new InputError(`schedule 'cosine' needs steps (fit fills in the steps of all its epochs)`);
      }
      const steps = checkPositiveInt(`schedule 'cosine': steps`, s.steps ?? totalSteps);
      return (step) =>
        step >= steps ? minLr : minLr + ((lr - minLr) * (1 + Math.cos((Math.PI * step) / steps))) / 2;
    }
  }
}
