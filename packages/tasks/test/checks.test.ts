import { InputError } from '@bistable/core';
import { describe, expect, it } from 'vitest';
import { cellName, changedSettings } from '../src/index.js';

describe('cellName', () => {
  it('matches cell names case-insensitively', () => {
    expect(cellName('nBRC')).toBe('nBRC');
    expect(cellName('nbrc')).toBe('nBRC');
    expect(cellName('lstm')).toBe('LSTM');
  });

  it('names an unknown cell and lists the known ones', () => {
    expect(() => cellName('RNN')).toThrow(InputError);
    expect(() => cellName('RNN')).toThrow("unknown cell 'RNN'; expected one of BRC, nBRC, GRU, LSTM");
  });
});

describe('changedSettings', () => {
  it('names the keys whose values differ, in first-seen order', () => {
    expect(changedSettings({ a: 1, b: [1, 2], c: 'x' }, { c: 'y', b: [1, 3], a: 1, d: true })).toEqual([
      'b',
      'c',
      'd',
    ]);
  });

  it('compares nested values as canonical JSON: key order and undefined members do not count', () => {
    expect(changedSettings({ a: { x: 1, y: 2 }, u: undefined }, { a: { y: 2, x: 1, z: undefined } })).toEqual(
      [],
    );
    expect(changedSettings({ a: { x: 1 } }, { a: { x: 2 } })).toEqual(['a']);
  });
});
