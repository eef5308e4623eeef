// Environment colours: the colour an environment is shown in (its own, or
// a default), whether it looks like production (those get the loud
// banner), and a readable text colour on it. Colours reach the page only
// through CSSOM custom properties (allowed by the CSP; style= is not).

const PRODUCTION = /(^|[-_. ])(prod|production|prd|live)([-_. ]|$)/i;
const DEFAULT_PRODUCTION = '#c62828';
const DEFAULT_OTHER = '#5b6675';

/** Whether an environment is production-like (by key or name). */
export function isProduction(env) {
  return !!env && (PRODUCTION.test(env.key || '') || PRODUCTION.test(env.name || ''));
}

/** The colour an environment is shown in. */
export function colorOf(env) {
  if (env?.color) return env.color;
  return isProduction(env) ? DEFAULT_PRODUCTION : DEFAULT_OTHER;
}

/** Black or white, whichever reads better on `hex` (#rrggbb). */
export function textOn(hex) {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return l > 0.35 ? '#111111' : '#ffffff';
}

/** Paints `el` in an environment's colour (`--env-color`, `--env-fg`). */
export function paint(el, env) {
  const color = colorOf(env);
  el.style.setProperty('--env-color', color);
  el.style.setProperty('--env-fg', textOn(color));
  return el;
}
