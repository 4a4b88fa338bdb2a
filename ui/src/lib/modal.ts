// What every modal <dialog> of the window does the same way: open modally (or as an open element
// where showModal is missing, as in some test DOMs), and keep Tab inside it.

/** Show `dialog` as a modal; where that is impossible, at least open it. */
export function showModal(dialog: HTMLDialogElement): void {
  if (typeof dialog.showModal === 'function') {
    try {
      dialog.showModal();
      return;
    } catch {
      // Not connected yet, or already open non-modally: fall through to the attribute.
    }
  }
  dialog.setAttribute('open', '');
}

/** Close `dialog`, however it was opened. */
export function closeModal(dialog: HTMLDialogElement | undefined): void {
  if (dialog?.open && typeof dialog.close === 'function') dialog.close();
  else dialog?.removeAttribute('open');
}

function focusable(dialog: HTMLElement): HTMLElement[] {
  const selector =
    'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';
  return [...dialog.querySelectorAll<HTMLElement>(selector)].filter((el) => !el.hidden);
}

/** Keep Tab and Shift+Tab cycling inside `dialog`. A modal <dialog> already makes the page behind it
 * inert; this covers the places where showModal is missing. */
export function trapTab(dialog: HTMLElement, event: KeyboardEvent): void {
  if (event.key !== 'Tab') return;
  const items = focusable(dialog);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  const current = document.activeElement;
  if (event.shiftKey && (current === first || !dialog.contains(current))) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (current === last || !dialog.contains(current))) {
    event.preventDefault();
    first.focus();
  }
}
