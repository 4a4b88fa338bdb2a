import { describe, expect, it } from 'vitest';

import type { RunStatus } from './api';
import { SIGNAL_KEYS, signalOf, type Signal } from './glance';
import type { Verdict } from './health.svelte';
import { en } from './i18n/en';
import { tr } from './i18n/tr';

const STATUSES: RunStatus[] = ['stopped', 'starting', 'running', 'stopping', 'crashed', 'failedToStart'];
const VERDICTS: Verdict[] = ['healthy', 'mismatch', 'down', 'unknown'];

// Every combination, written out: the table is the specification.
const EXPECTED: Record<RunStatus, Record<Verdict, Signal>> = {
  stopped: {
    healthy: { tone: 'idle', word: 'stopped' },
    mismatch: { tone: 'idle', word: 'stopped' },
    down: { tone: 'idle', word: 'stopped' },
    unknown: { tone: 'idle', word: 'stopped' },
  },
  starting: {
    healthy: { tone: 'busy', word: 'starting' },
    mismatch: { tone: 'bad', word: 'isolation' },
    down: { tone: 'busy', word: 'starting' },
    unknown: { tone: 'busy', word: 'starting' },
  },
  running: {
    healthy: { tone: 'ok', word: 'healthy' },
    mismatch: { tone: 'bad', word: 'isolation' },
    down: { tone: 'bad', word: 'notAnswering' },
    unknown: { tone: 'busy', word: 'checking' },
  },
  stopping: {
    healthy: { tone: 'busy', word: 'stopping' },
    mismatch: { tone: 'busy', word: 'stopping' },
    down: { tone: 'busy', word: 'stopping' },
    unknown: { tone: 'busy', word: 'stopping' },
  },
  crashed: {
    healthy: { tone: 'bad', word: 'failing' },
    mismatch: { tone: 'bad', word: 'failing' },
    down: { tone: 'bad', word: 'failing' },
    unknown: { tone: 'bad', word: 'failing' },
  },
  failedToStart: {
    healthy: { tone: 'bad', word: 'failing' },
    mismatch: { tone: 'bad', word: 'failing' },
    down: { tone: 'bad', word: 'failing' },
    unknown: { tone: 'bad', word: 'failing' },
  },
};

describe('a card’s signal', () => {
  for (const status of STATUSES) {
    for (const verdict of VERDICTS) {
      it(`${status} + ${verdict} → ${EXPECTED[status][verdict].word}`, () => {
        expect(signalOf(status, verdict)).toEqual(EXPECTED[status][verdict]);
      });
    }
  }

  it('only green says healthy, and every word is in both languages and short enough for a compact card', () => {
    const signals = STATUSES.flatMap((s) => VERDICTS.map((v) => signalOf(s, v)));
    for (const s of signals) expect(s.word === 'healthy').toBe(s.tone === 'ok');
    for (const key of Object.values(SIGNAL_KEYS)) {
      expect(tr[key]).toBeTruthy();
      expect(en[key]).toBeTruthy();
      expect(tr[key].length).toBeLessThanOrEqual(18);
      expect(en[key].length).toBeLessThanOrEqual(18);
    }
    expect(tr[SIGNAL_KEYS.healthy]).toBe('Sağlıklı');
    expect(en[SIGNAL_KEYS.isolation]).toBe('Isolation problem');
  });
});
