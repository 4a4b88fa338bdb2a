import { describe, expect, it } from 'vitest';

import { en } from './en';
import { DEFAULT_LANGUAGE, language, setLanguage, STORAGE_KEY, t, toggleLanguage } from './index.svelte';
import { tr } from './tr';

describe('dictionaries', () => {
  it('tr and en have exactly the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(tr).sort());
  });

  it.each([
    ['tr', tr],
    ['en', en],
  ] as const)('%s has no empty value', (_name, dictionary) => {
    for (const [key, value] of Object.entries(dictionary)) {
      expect(typeof value, key).toBe('string');
      expect(value.trim(), key).not.toBe('');
    }
  });

  it('says one key, not one keys, and leaves other counts and keys without a .one form alone', () => {
    setLanguage('en');
    expect(t('cache.keys', { count: 1 })).toBe('1 key');
    expect(t('cache.keys', { count: '1' })).toBe('1 key');
    expect(t('cache.keys', { count: '1,000' })).toBe('1,000 keys');
    expect(t('cache.keys', { count: 0 })).toBe('0 keys');
    expect(t('flush.confirm', { count: 1 })).toBe('Delete 1 key');
    expect(t('status.stopped')).toBe(en['status.stopped']);
    setLanguage('tr');
    expect(t('cache.keys', { count: 1 })).toBe('1 anahtar');
  });

  it('uses the same placeholders in both languages', () => {
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const key of Object.keys(tr) as (keyof typeof tr)[]) {
      expect(placeholders(en[key]), key).toEqual(placeholders(tr[key]));
    }
  });

  it('speaks natural Turkish for the words the brief fixes', () => {
    expect(tr['status.stopped']).toBe('Durduruldu');
    expect(tr['card.database']).toBe('Veritabanı');
    expect(tr['card.sessionCookie']).toBe('Oturum çerezi');
    expect(tr['card.csrfCookie']).toBe('CSRF çerezi');
    expect(tr['card.cachePrefix']).toBe('Cache öneki');
    expect(tr['action.reload']).toBe('Yeniden yükle');
    expect(tr['role.main']).toBe('Ana sunucu');
    expect(tr['presets.title']).toBe('Hazır ayarlar');
  });
});

describe('t / setLanguage', () => {
  it('defaults to Turkish', () => {
    expect(DEFAULT_LANGUAGE).toBe('tr');
    expect(language()).toBe('tr');
    expect(t('status.stopped')).toBe('Durduruldu');
  });

  it('switches, persists and sets <html lang>', () => {
    setLanguage('en');
    expect(t('status.stopped')).toBe('Stopped');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('en');
    expect(document.documentElement.lang).toBe('en');
    toggleLanguage();
    expect(language()).toBe('tr');
    expect(localStorage.getItem(STORAGE_KEY)).toBe('tr');
    expect(document.documentElement.lang).toBe('tr');
  });

  it('fills placeholders and leaves unknown ones alone', () => {
    expect(t('card.cacheTimeout', { seconds: 3600 })).toBe('3600 sn zaman aşımı');
    expect(t('error.line', {})).toBe('Satır {line}');
    setLanguage('en');
    expect(t('card.cacheTimeout', { seconds: 600 })).toBe('600 s timeout');
  });
});
