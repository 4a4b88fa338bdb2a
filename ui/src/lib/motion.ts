// Animations run only while someone can see them: a spinning element scrolled out of the window's
// view is paused (`data-offscreen`, styled by the element's own component). A hidden or minimized
// window needs nothing here: WebKit suspends the CSS animations of a page that is not visible.

/** An attachment: pause `node`'s animation while it is outside the viewport. */
export function pauseOffscreen(node: Element): (() => void) | undefined {
  if (typeof IntersectionObserver !== 'function') return undefined;
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) node.toggleAttribute('data-offscreen', !entry.isIntersecting);
  });
  observer.observe(node);
  return () => observer.disconnect();
}
