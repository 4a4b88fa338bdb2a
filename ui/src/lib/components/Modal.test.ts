// The frame every dialog shares: the close paths, close-once, canClose, Escape's first taker, focus.
import { createRawSnippet, flushSync } from 'svelte';
import { describe, expect, it, onTestFinished, vi } from 'vitest';

import { mountInDocument, unmountNow } from '../../test/mounted';
import Modal from './Modal.svelte';

const content = createRawSnippet(() => ({
  render: () => '<div><button data-testid="first">first</button><button data-testid="last">last</button></div>',
}));

interface Props {
  canClose: boolean;
  onescape?: () => boolean;
}

function open(props: Props) {
  const opener = document.createElement('button');
  const onclose = vi.fn(() => unmountNow(component));
  const { component, target } = mountInDocument(Modal, {
    testid: 'modal',
    width: '30rem',
    returnFocus: opener,
    onclose,
    children: content,
    'data-phase': 'confirm',
    get canClose() {
      return props.canClose;
    },
    get onescape() {
      return props.onescape;
    },
  });
  // Outside the mounted element, so focus can come back to it after the dialog is gone.
  target.before(opener);
  onTestFinished(() => opener.remove());
  opener.focus();
  flushSync();
  const modal = component as unknown as { close: () => void; release: () => void };
  const dialog = document.querySelector<HTMLDialogElement>('[data-testid="modal"]')!;
  return { component, modal, dialog, opener, onclose };
}

function press(target: Element, key: string, shiftKey = false): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key, shiftKey, bubbles: true, cancelable: true });
  target.dispatchEvent(event);
  flushSync();
  return event;
}

describe('Modal', () => {
  it('opens as a modal dialog with the owner’s attributes, and Escape closes it once, focus back on the opener', () => {
    const { dialog, opener, onclose } = open({ canClose: true });
    expect(dialog.open).toBe(true);
    expect(dialog.dataset.phase).toBe('confirm');
    expect(dialog.style.width).toBe('30rem');

    const escape = press(dialog, 'Escape');
    expect(escape.defaultPrevented).toBe(true);
    expect(onclose).toHaveBeenCalledTimes(1);
    expect(document.activeElement).toBe(opener);
    // The dialog's own close event after that is not a second close.
    dialog.dispatchEvent(new Event('close'));
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it('closes on the cancel event too, without letting the browser close it on its own', () => {
    const { dialog, onclose } = open({ canClose: true });
    const cancel = new Event('cancel', { cancelable: true });
    dialog.dispatchEvent(cancel);
    expect(cancel.defaultPrevented).toBe(true);
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it('refuses every close path while canClose is false, and closes once it turns true', () => {
    const props = { canClose: false };
    const { modal, dialog, onclose } = open(props);
    press(dialog, 'Escape');
    dialog.dispatchEvent(new Event('cancel', { cancelable: true }));
    modal.close();
    expect(onclose).not.toHaveBeenCalled();
    expect(dialog.open).toBe(true);

    props.canClose = true;
    modal.close();
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it('gives Escape to onescape first: closed only when it did not use the key', () => {
    let confirming = true;
    const { dialog, onclose } = open({
      canClose: true,
      onescape: () => {
        if (!confirming) return false;
        confirming = false;
        return true;
      },
    });
    press(dialog, 'Escape');
    expect(onclose).not.toHaveBeenCalled();
    expect(confirming).toBe(false);
    press(dialog, 'Escape');
    expect(onclose).toHaveBeenCalledTimes(1);
  });

  it('release() closes the dialog for the owner’s own reason: no onclose, no focus move', () => {
    const { modal, dialog, onclose } = open({ canClose: true });
    const first = dialog.querySelector<HTMLButtonElement>('[data-testid="first"]')!;
    first.focus();
    modal.release();
    expect(dialog.open).toBe(false);
    expect(onclose).not.toHaveBeenCalled();
    expect(document.activeElement).toBe(first);
    modal.close();
    expect(onclose).not.toHaveBeenCalled();
  });

  it('keeps Tab inside the dialog', () => {
    const { dialog } = open({ canClose: true });
    const first = dialog.querySelector<HTMLButtonElement>('[data-testid="first"]')!;
    const last = dialog.querySelector<HTMLButtonElement>('[data-testid="last"]')!;
    last.focus();
    expect(press(last, 'Tab').defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(first);
    expect(press(first, 'Tab', true).defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(last);
  });

  it('unmounted by its owner, it closes without calling onclose', () => {
    const { component, dialog, onclose } = open({ canClose: true });
    unmountNow(component);
    expect(dialog.isConnected).toBe(false);
    expect(onclose).not.toHaveBeenCalled();
  });
});
