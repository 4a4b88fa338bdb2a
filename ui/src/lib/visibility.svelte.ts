// Whether anyone can see the window. A hidden or minimized window draws nothing: core's health feed
// sends it no per-second figures (`set_window_visible`), the page's own timers skip their work, and
// when the window is shown again it catches up in one step (the owner's `shown`).
import { setWindowVisible } from './api';

let visible = $state(typeof document === 'undefined' || document.visibilityState !== 'hidden');

/** The page is visible now (reactive). */
export function windowVisible(): boolean {
  return visible;
}

/** Follow the page's visibility until the returned function is called: tell the shell each change,
 * and once the shell knows the window is visible again, call `shown`. */
export function followVisibility(shown: () => void): () => void {
  if (typeof document === 'undefined') return () => {};
  const onChange = () => {
    const now = document.visibilityState !== 'hidden';
    if (now === visible) return;
    visible = now;
    const told = setWindowVisible(now).catch(() => {
      // Outside the app window: nobody to tell.
    });
    if (now) void told.then(shown);
  };
  document.addEventListener('visibilitychange', onChange);
  // Opened minimized: the shell assumes a visible window until told.
  if (!visible) void setWindowVisible(false).catch(() => {});
  return () => document.removeEventListener('visibilitychange', onChange);
}
