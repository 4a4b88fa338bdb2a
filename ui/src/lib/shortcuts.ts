// The window's keyboard shortcuts: one table, used by App's key handler and by the tooltips that
// show them. Ctrl on Linux and Windows, ⌘ on macOS.

export type Shortcut =
  | 'reload'
  | 'generator'
  | 'flushAll'
  | 'doctor'
  | 'stopAll'
  | 'language'
  | 'theme'
  | 'openProject';

interface Keys {
  key: string;
  shift: boolean;
}

// Stop all and clearing every cache take Shift as well: a slip of one key must not stop everything.
const TABLE: Record<Shortcut, Keys> = {
  reload: { key: 'r', shift: false },
  generator: { key: 'g', shift: false },
  doctor: { key: 'd', shift: false },
  openProject: { key: 'o', shift: false },
  language: { key: 'l', shift: false },
  theme: { key: 'l', shift: true },
  flushAll: { key: 'k', shift: true },
  stopAll: { key: 's', shift: true },
};

function isMac(): boolean {
  return typeof navigator !== 'undefined' && /Mac/.test(navigator.platform);
}

/** "Ctrl+Shift+S" (or "⌘⇧S" on macOS). */
export function shortcutLabel(shortcut: Shortcut | number): string {
  const keys = typeof shortcut === 'number' ? { key: String(shortcut), shift: false } : TABLE[shortcut];
  if (isMac()) return `⌘${keys.shift ? '⇧' : ''}${keys.key.toUpperCase()}`;
  return `Ctrl+${keys.shift ? 'Shift+' : ''}${keys.key.toUpperCase()}`;
}

/** A tooltip with its shortcut: "Config Üreteci (Ctrl+G)". */
export function shortcutHint(text: string, shortcut: Shortcut | number): string {
  return `${text} (${shortcutLabel(shortcut)})`;
}

/** The action `event` asks for: a named shortcut, or the n-th preset (Ctrl+1…9); null for none. */
export function shortcutOf(event: KeyboardEvent): Shortcut | { preset: number } | null {
  const mod = isMac() ? event.metaKey : event.ctrlKey;
  if (!mod || event.altKey) return null;
  if (!event.shiftKey && /^[1-9]$/.test(event.key)) return { preset: Number(event.key) - 1 };
  const key = event.key.toLowerCase();
  for (const [name, keys] of Object.entries(TABLE) as [Shortcut, Keys][]) {
    if (keys.key === key && keys.shift === event.shiftKey) return name;
  }
  return null;
}
