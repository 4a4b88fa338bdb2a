import { beforeEach, describe, expect, it } from 'vitest';

import { logLines } from '../test/fixtures';
import { formatDuration, formatUptime, nextUptimeChange } from './format';
import { setLanguage } from './i18n/index.svelte';
import {
  appendCapped,
  filterLines,
  highlight,
  indexOfSeq,
  LogBatcher,
  MAX_LINES,
  searchPattern,
} from './logbuffer';

describe('appendCapped', () => {
  it('keeps the newest lines only, and never mutates its input', () => {
    const lines = logLines(4);
    const next = appendCapped(lines, logLines(3, 5), 5);
    expect(next.map((l) => l.seq)).toEqual([3, 4, 5, 6, 7]);
    expect(lines).toHaveLength(4);
    expect(appendCapped(next, logLines(9, 8), 5).map((l) => l.seq)).toEqual([12, 13, 14, 15, 16]);
    expect(appendCapped([], logLines(2), 5)).toHaveLength(2);
  });

  it('holds MAX_LINES (5000) at most', () => {
    expect(MAX_LINES).toBe(5000);
    let lines = appendCapped([], logLines(4000));
    lines = appendCapped(lines, logLines(2000, 4001));
    expect(lines).toHaveLength(5000);
    expect(lines[0].seq).toBe(1001);
    expect(lines[4999].seq).toBe(6000);
  });
});

describe('LogBatcher', () => {
  let frames: (() => void)[];
  const schedule = (run: () => void) => frames.push(run);
  beforeEach(() => {
    frames = [];
  });

  it('hands every batch of one frame to the view at once', () => {
    const delivered: number[][] = [];
    const batcher = new LogBatcher((lines) => delivered.push(lines.map((l) => l.seq)), 10, schedule);
    batcher.push(logLines(2));
    batcher.push(logLines(2, 3));
    expect(frames).toHaveLength(1);
    expect(delivered).toEqual([]);
    frames.shift()!();
    expect(delivered).toEqual([[1, 2, 3, 4]]);
    batcher.push(logLines(1, 5));
    frames.shift()!();
    expect(delivered).toEqual([[1, 2, 3, 4], [5]]);
  });

  it('caps what waits for a frame, so a hidden window stays bounded', () => {
    const delivered: number[][] = [];
    const batcher = new LogBatcher((lines) => delivered.push(lines.map((l) => l.seq)), 5, schedule);
    for (let i = 0; i < 100; i++) batcher.push(logLines(2000, i * 2000 + 1));
    expect(frames).toHaveLength(1);
    frames.shift()!();
    expect(delivered).toEqual([[199996, 199997, 199998, 199999, 200000]]);
  });

  it('drops everything after close', () => {
    const delivered: number[][] = [];
    const batcher = new LogBatcher((lines) => delivered.push(lines.map((l) => l.seq)), 10, schedule);
    batcher.push(logLines(2));
    batcher.close();
    frames.shift()!();
    batcher.push(logLines(2, 3));
    for (const frame of frames) frame();
    expect(delivered).toEqual([]);
  });
});

describe('search', () => {
  it('matches case-insensitively and literally', () => {
    const lines = [
      { seq: 1, stream: 'stdout' as const, text: 'GET /Health/ 200' },
      { seq: 2, stream: 'stderr' as const, text: 'Traceback (most recent call last):' },
      { seq: 3, stream: 'stdout' as const, text: 'a.b*c' },
    ];
    expect(searchPattern('   ')).toBeNull();
    expect(filterLines(lines, null)).toBe(lines);
    expect(filterLines(lines, searchPattern('health')).map((l) => l.seq)).toEqual([1]);
    expect(filterLines(lines, searchPattern('(MOST')).map((l) => l.seq)).toEqual([2]);
    expect(filterLines(lines, searchPattern('b*c')).map((l) => l.seq)).toEqual([3]);
    expect(filterLines(lines, searchPattern('.')).map((l) => l.seq)).toEqual([3]);
  });

  it('cuts a line into plain and highlighted pieces', () => {
    expect(highlight('GET /health/ HEALTH', searchPattern('Health'))).toEqual([
      { text: 'GET /', match: false },
      { text: 'health', match: true },
      { text: '/ ', match: false },
      { text: 'HEALTH', match: true },
    ]);
    expect(highlight('abc', null)).toEqual([{ text: 'abc', match: false }]);
    expect(highlight('', searchPattern('x'))).toEqual([{ text: '', match: false }]);
  });

  it('finds a line by seq', () => {
    const lines = logLines(10, 101);
    expect(indexOfSeq(lines, 101)).toBe(0);
    expect(indexOfSeq(lines, 105)).toBe(4);
    expect(indexOfSeq(lines, 50)).toBe(0);
    expect(indexOfSeq(lines, 500)).toBe(10);
  });
});

describe('formatUptime and nextUptimeChange', () => {
  it('shows seconds only in the first minute, and waits for the next change of any card', () => {
    expect(formatUptime(42_000)).toBe('42 sn');
    expect(formatUptime(192_000)).toBe('3 dk');
    expect(formatUptime(3_723_000)).toBe('1 sa 2 dk');
    expect(nextUptimeChange([])).toBe(60_000);
    expect(nextUptimeChange([192_000])).toBe(48_000);
    expect(nextUptimeChange([192_000, 30_250])).toBe(750);
    expect(nextUptimeChange([180_000])).toBe(60_000);
  });
});

describe('formatDuration', () => {
  it('speaks both languages with two units', () => {
    expect(formatDuration(192_000)).toBe('3 dk 12 sn');
    expect(formatDuration(9_000)).toBe('9 sn');
    expect(formatDuration(3_723_000)).toBe('1 sa 2 dk');
    expect(formatDuration(2 * 86_400_000 + 3 * 3_600_000)).toBe('2 gün 3 sa');
    expect(formatDuration(-5_000)).toBe('0 sn');
    setLanguage('en');
    expect(formatDuration(192_000)).toBe('3m 12s');
    expect(formatDuration(3_723_000)).toBe('1h 2m');
  });
});
