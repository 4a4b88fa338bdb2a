// Icon draws a named drawing, decorative unless labelled; a spinner (and a spinning icon) stops
// while it is out of view.
import { flushSync, type Component, type ComponentProps } from 'svelte';
import { describe, expect, it, vi } from 'vitest';

import { mountInDocument, unmountNow } from '../../test/mounted';
import { ICONS } from '../icons';
import Icon from './Icon.svelte';
import Spinner from './Spinner.svelte';

function draw<C extends Component<any>>(component: C, props: ComponentProps<C>): Element {
  const { target } = mountInDocument(component, props);
  flushSync();
  return target.firstElementChild!;
}

describe('Icon', () => {
  it('draws the named icon on its grid, hidden from screen readers, at the asked size', () => {
    const svg = draw(Icon, { name: 'database', size: '12px' });
    expect(svg.getAttribute('viewBox')).toBe('0 0 16 16');
    expect(svg.getAttribute('aria-hidden')).toBe('true');
    expect((svg as SVGElement).style.width).toBe('12px');
    expect(svg.querySelectorAll('ellipse, path')).toHaveLength(ICONS.database.parts.length);
    const ellipse = svg.querySelector('ellipse')!;
    expect(ellipse.getAttribute('fill')).toBe('none');
    expect(ellipse.getAttribute('stroke-width')).toBe('1.3');
  });

  it('fills the parts without a stroke, and a labelled icon is an image with a title', () => {
    const svg = draw(Icon, { name: 'bell', label: 'Bildirim gönderildi', 'data-testid': 'bell' });
    expect(svg.getAttribute('role')).toBe('img');
    expect(svg.getAttribute('aria-label')).toBe('Bildirim gönderildi');
    expect(svg.hasAttribute('aria-hidden')).toBe(false);
    expect(svg.querySelector('title')?.textContent).toBe('Bildirim gönderildi');
    expect(svg.getAttribute('data-testid')).toBe('bell');
    const play = draw(Icon, { name: 'play' });
    expect(play.querySelector('path')?.getAttribute('fill')).toBe('currentColor');
    expect(play.querySelector('path')?.hasAttribute('stroke')).toBe(false);
  });
});

describe('Spinner', () => {
  it('pauses while scrolled out of view and runs again when back', () => {
    let report: ((entries: { isIntersecting: boolean }[]) => void) | null = null;
    const disconnect = vi.fn();
    vi.stubGlobal(
      'IntersectionObserver',
      class {
        constructor(callback: (entries: { isIntersecting: boolean }[]) => void) {
          report = callback;
        }
        observe() {}
        disconnect = disconnect;
      },
    );
    const { component: spinnerMount, target } = mountInDocument(Spinner, { size: 1.1 });
    flushSync();
    const spinner = target.firstElementChild!;
    expect((spinner as HTMLElement).style.width).toBe('1.1rem');
    expect(spinner.hasAttribute('data-offscreen')).toBe(false);
    report!([{ isIntersecting: false }]);
    expect(spinner.hasAttribute('data-offscreen')).toBe(true);
    report!([{ isIntersecting: true }]);
    expect(spinner.hasAttribute('data-offscreen')).toBe(false);
    unmountNow(spinnerMount);
    expect(disconnect).toHaveBeenCalled();
  });

  it('a spinning icon is watched only while it spins', () => {
    const observe = vi.fn();
    vi.stubGlobal(
      'IntersectionObserver',
      class {
        observe = observe;
        disconnect() {}
      },
    );
    draw(Icon, { name: 'reload' });
    expect(observe).not.toHaveBeenCalled();
    const svg = draw(Icon, { name: 'reload', spin: true });
    expect(svg.classList.contains('spin')).toBe(true);
    expect(observe).toHaveBeenCalledTimes(1);
  });
});
