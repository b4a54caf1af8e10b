/**
 * Goals as data: one definition renders the goal column and decides "met". A goal is a list of
 * bounds on named figures of its row (`row.measured`); it is met when every bound holds. A figure
 * that is missing (not a finite number) does not meet its bound.
 *
 *   goal(atMost('ratio', 1.03, { unit: '×' }))                        → "≤ 1.03×"
 *   goal(equal('lost', 0, { suffix: ' lost' }), atMost('closeMs', 2500, { unit: ' ms', label: 'close' }),
 *        holds('ok', 'report ok'))                                     → "0 lost, close ≤ 2,500 ms, report ok"
 */
const ops = {
  '<=': { sym: '≤', ok: (v, l) => v <= l },
  '<': { sym: '<', ok: (v, l) => v < l },
  '>=': { sym: '≥', ok: (v, l) => v >= l },
  '==': { sym: '=', ok: (v, l) => v === l },
};

/** `label` goes before the comparison, `prefix` and `unit` around the limit, `suffix` after it. */
const bound = (op) => (key, limit, { unit = '', label = '', prefix = '', suffix = '' } = {}) => ({ key, op, limit, unit, label, prefix, suffix });
export const atMost = bound('<=');
export const below = bound('<');
export const atLeast = bound('>=');
export const equal = bound('==');

/** A yes/no figure (1 = yes), rendered as `text`. */
export const holds = (key, text) => ({ key, op: '==', limit: 1, text });

export const goal = (...bounds) => ({ bounds });

const fmtLimit = (x) => (Number.isInteger(x) ? x.toLocaleString('en-US') : x.toFixed(2).replace(/0$/, ''));

export function goalText(g) {
  if (!g) return '';
  return g.bounds.map((b) => b.text ?? `${b.label ? `${b.label} ` : ''}${b.op === '==' ? '' : `${ops[b.op].sym} `}${b.prefix}${fmtLimit(b.limit)}${b.unit}${b.suffix}`).join(', ');
}

/** true / false, or undefined for a row without a goal. */
export function goalMet(g, measured) {
  if (!g) return undefined;
  return g.bounds.every((b) => Number.isFinite(measured?.[b.key]) && ops[b.op].ok(measured[b.key], b.limit));
}
