// What a test mounted into the document, taken down after each test by setup.ts.
import { mount, unmount, type Component, type ComponentProps } from 'svelte';

const mounted: { component: ReturnType<typeof mount>; target: HTMLElement }[] = [];

/** Mount `component` into a fresh element of the document; setup.ts unmounts it after the test. */
export function mountInDocument<C extends Component<any>>(component: C, props: ComponentProps<C>): {
  component: ReturnType<typeof mount>;
  target: HTMLElement;
} {
  const target = document.createElement('div');
  document.body.appendChild(target);
  const entry = { component: mount(component, { target, props }), target };
  mounted.push(entry);
  return entry;
}

/** Unmount `component` now (a test that checks what unmounting does); setup.ts skips it after. */
export function unmountNow(component: ReturnType<typeof mount>): void {
  const index = mounted.findIndex((m) => m.component === component);
  if (index < 0) return;
  const [entry] = mounted.splice(index, 1);
  unmount(entry.component);
  entry.target.remove();
}

export function unmountAll(): void {
  while (mounted.length > 0) {
    const entry = mounted.pop()!;
    unmount(entry.component);
    entry.target.remove();
  }
}
