// Light or dark: the system's choice unless the user picked one (kept in localStorage). The
// effective theme goes to <html data-theme>, which app.css's colours key on.

export type ThemeChoice = 'system' | 'light' | 'dark';
export const THEME_KEY = 'kovan.theme';
const ORDER: readonly ThemeChoice[] = ['system', 'light', 'dark'];

function storedChoice(): ThemeChoice {
  try {
    const value = globalThis.localStorage?.getItem(THEME_KEY);
    if (value === 'light' || value === 'dark' || value === 'system') return value;
  } catch {
    // Storage can be disabled: follow the system.
  }
  return 'system';
}

function systemDark(): boolean {
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches;
}

const state = $state<{ choice: ThemeChoice; systemDark: boolean }>({ choice: storedChoice(), systemDark: systemDark() });

/** What the user chose. */
export function themeChoice(): ThemeChoice {
  return state.choice;
}

/** What the window shows now. */
export function effectiveTheme(): 'light' | 'dark' {
  if (state.choice === 'system') return state.systemDark ? 'dark' : 'light';
  return state.choice;
}

function apply(): void {
  if (typeof document !== 'undefined') document.documentElement.dataset.theme = effectiveTheme();
}

export function setTheme(choice: ThemeChoice): void {
  state.choice = choice;
  try {
    globalThis.localStorage?.setItem(THEME_KEY, choice);
  } catch {
    // Not remembered across restarts, but still switched.
  }
  apply();
}

/** System -> light -> dark -> system. */
export function cycleTheme(): void {
  setTheme(ORDER[(ORDER.indexOf(state.choice) + 1) % ORDER.length]);
}

/** Apply the theme now and follow the system's changes while the choice is "system". */
export function startTheme(): () => void {
  state.choice = storedChoice();
  state.systemDark = systemDark();
  apply();
  if (typeof matchMedia !== 'function') return () => {};
  const query = matchMedia('(prefers-color-scheme: dark)');
  const changed = (event: MediaQueryListEvent) => {
    state.systemDark = event.matches;
    apply();
  };
  query.addEventListener?.('change', changed);
  return () => query.removeEventListener?.('change', changed);
}
