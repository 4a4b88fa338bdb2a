import { describe, expect, it } from 'vitest';

import { defaultLayout, LAYOUT_KEY, layout, setLayout, toggleLayout, useWorkspace } from './layout.svelte';

describe('the cards’ layout', () => {
  it('opens compact above six cards, comfortable up to six', () => {
    expect(defaultLayout(3)).toBe('comfortable');
    expect(defaultLayout(6)).toBe('comfortable');
    expect(defaultLayout(7)).toBe('compact');
    useWorkspace('/p/ten/kovan.toml', 10);
    expect(layout()).toBe('compact');
    useWorkspace('/p/three/kovan.toml', 3);
    expect(layout()).toBe('comfortable');
  });

  it('remembers the choice per workspace file in localStorage', () => {
    useWorkspace('/p/ten/kovan.toml', 10);
    toggleLayout();
    expect(layout()).toBe('comfortable');
    expect(localStorage.getItem(`${LAYOUT_KEY}:/p/ten/kovan.toml`)).toBe('comfortable');
    useWorkspace('/p/three/kovan.toml', 3);
    setLayout('compact');
    useWorkspace('/p/ten/kovan.toml', 10);
    expect(layout()).toBe('comfortable');
    useWorkspace('/p/three/kovan.toml', 3);
    expect(layout()).toBe('compact');
    // A workspace never switched keeps its default.
    useWorkspace('/p/other/kovan.toml', 8);
    expect(layout()).toBe('compact');
  });
});
