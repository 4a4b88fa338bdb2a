// The window's two languages. Turkish is the default; the choice is kept in localStorage and mirrored
// into <html lang>. `t` reads a rune, so markup that calls it re-renders when the language changes.
import { en } from './en';
import { tr, type MessageKey } from './tr';

export type { MessageKey } from './tr';
export type Language = 'tr' | 'en';

export const LANGUAGES: readonly Language[] = ['tr', 'en'];
export const DEFAULT_LANGUAGE: Language = 'tr';
export const STORAGE_KEY = 'kovan.language';

const dictionaries: Record<Language, { readonly [K in MessageKey]: string }> = { tr, en };

function isLanguage(value: unknown): value is Language {
  return value === 'tr' || value === 'en';
}

function stored(): Language {
  try {
    const value = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (isLanguage(value)) return value;
  } catch {
    // Storage can be disabled; the default language is fine then.
  }
  return DEFAULT_LANGUAGE;
}

function applyToDocument(language: Language): void {
  if (typeof document !== 'undefined') document.documentElement.lang = language;
}

const state = $state<{ language: Language }>({ language: stored() });
applyToDocument(state.language);

/** The language the window currently speaks. */
export function language(): Language {
  return state.language;
}

/** Switch the window's language, remember it, and update `<html lang>`. */
export function setLanguage(next: Language): void {
  state.language = next;
  applyToDocument(next);
  try {
    globalThis.localStorage?.setItem(STORAGE_KEY, next);
  } catch {
    // Not remembered across restarts, but still switched.
  }
}

/** Toggle between Turkish and English. */
export function toggleLanguage(): void {
  setLanguage(state.language === 'tr' ? 'en' : 'tr');
}

/** The text for `key` in the current language, with `{name}` placeholders filled from `params`.
 * A `count` of 1 takes the key's `.one` form where the dictionary has one ("1 key", not "1 keys");
 * Turkish keeps the noun singular after a number, so its `.one` forms read as the others. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const dictionary = dictionaries[state.language];
  const one = params && String(params.count) === '1' ? (`${key}.one` as MessageKey) : null;
  const text = one !== null && one in dictionary ? dictionary[one] : dictionary[key];
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}
