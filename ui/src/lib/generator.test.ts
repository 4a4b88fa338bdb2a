import { describe, expect, it } from 'vitest';

import { countStatuses, defaultSelection, groupByPurpose, octal, parseDiff, textLines } from './generator';
import { generatorPlanFixture } from '../test/fixtures';

describe('generator helpers', () => {
  it('writes modes as four-digit octal', () => {
    expect(octal(384)).toBe('0600');
    expect(octal(0o644)).toBe('0644');
    expect(octal(0o7)).toBe('0007');
    expect(octal(0o100644)).toBe('0644');
  });

  it('groups by purpose in a fixed order, keeping the plan order inside a group', () => {
    const groups = groupByPurpose(generatorPlanFixture.files);
    expect(groups.map((g) => g.purpose)).toEqual(['envFile', 'settings', 'djangoApp', 'nginx', 'procfile']);
    expect(groups[0].files.map((f) => f.path)).toEqual(['.env.chat_main', '.env.chat_api', '.env.chat_websocket']);
    expect(groupByPurpose(generatorPlanFixture.files.filter((f) => f.purpose === 'nginx'))).toHaveLength(1);
  });

  it('selects what writing would change: new, changed, edited, and unchanged files with the wrong mode', () => {
    expect(defaultSelection(generatorPlanFixture.files)).toEqual([
      '.env.chat_main',
      '.env.chat_api',
      '.env.chat_websocket',
      'dashboard_project/multi_server_settings.py',
      'nginx/kovan.conf',
      'Procfile.kovan',
    ]);
    expect(countStatuses(generatorPlanFixture.files)).toEqual({
      new: 3,
      unchanged: 9,
      changed: 1,
      edited: 1,
      modeOnly: 1,
    });
  });

  it('classifies diff lines and numbers them', () => {
    const diff = [
      '--- a (on disk)',
      '+++ a (Kovan)',
      '@@ -10,4 +10,4 @@ section',
      ' keep',
      '--- a removed line that starts with two dashes',
      '+++ an added line that starts with two pluses',
      '-old',
      '+new',
      '\\ No newline at end of file',
      '',
    ].join('\n');
    expect(parseDiff(diff).map((l) => [l.kind, l.oldLine, l.newLine])).toEqual([
      ['header', null, null],
      ['header', null, null],
      ['hunk', null, null],
      ['context', 10, 10],
      ['del', 11, null],
      ['add', null, 11],
      ['del', 12, null],
      ['add', null, 12],
      ['meta', null, null],
    ]);
    expect(parseDiff('')).toEqual([]);
  });

  it('splits text into lines without a phantom last one', () => {
    expect(textLines('a\nb\n')).toEqual(['a', 'b']);
    expect(textLines('a\nb')).toEqual(['a', 'b']);
    expect(textLines('')).toEqual(['']);
  });
});
