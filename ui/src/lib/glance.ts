// A card's one strong signal: its process state, its health and its isolation said as one colour and
// one word ("Sağlıklı", "Yalıtım sorunu"), so ten cards read at a glance. Every card (compact or
// comfortable) takes it from here.
import type { RunStatus } from './api';
import type { Verdict } from './health.svelte';
import type { MessageKey } from './i18n/index.svelte';

/** The colour: green healthy, amber on the way or not yet known, red wrong, grey stopped. */
export type SignalTone = 'ok' | 'busy' | 'bad' | 'idle';

/** The word. */
export type SignalWord =
  | 'healthy'
  | 'starting'
  | 'checking'
  | 'isolation'
  | 'notAnswering'
  | 'stopping'
  | 'stopped'
  | 'failing';

export interface Signal {
  tone: SignalTone;
  word: SignalWord;
}

export const SIGNAL_KEYS: Record<SignalWord, MessageKey> = {
  healthy: 'signal.healthy',
  starting: 'signal.starting',
  checking: 'signal.checking',
  isolation: 'signal.isolation',
  notAnswering: 'signal.notAnswering',
  stopping: 'signal.stopping',
  stopped: 'signal.stopped',
  failing: 'signal.failing',
};

/** What a card says first, from its process's status and (while it runs) its health's verdict.
 * Health is only judged while the instance is starting or running: a stopped instance is expected
 * not to answer. An instance that reports another instance's names is not isolated, whatever else
 * holds: that is the signal, in red. */
export function signalOf(status: RunStatus, verdict: Verdict): Signal {
  switch (status) {
    case 'crashed':
    case 'failedToStart':
      return { tone: 'bad', word: 'failing' };
    case 'stopped':
      return { tone: 'idle', word: 'stopped' };
    case 'stopping':
      return { tone: 'busy', word: 'stopping' };
    case 'starting':
      return verdict === 'mismatch' ? { tone: 'bad', word: 'isolation' } : { tone: 'busy', word: 'starting' };
    case 'running':
      switch (verdict) {
        case 'healthy':
          return { tone: 'ok', word: 'healthy' };
        case 'mismatch':
          return { tone: 'bad', word: 'isolation' };
        case 'down':
          return { tone: 'bad', word: 'notAnswering' };
        case 'unknown':
          return { tone: 'busy', word: 'checking' };
      }
  }
}
