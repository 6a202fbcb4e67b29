// `plexus query` output for a pipeline's answer: one line per step call from plexus.steps,
// "step ocr.detect: served by …X via P → X, cost 0, 232.9 ms"; '' when the answer has none.

interface StepLine { capability: string; served_by: string; route: string; ms: number; cost: number }

function isStep(x: unknown): x is StepLine {
  if (x === null || typeof x !== 'object') return false;
  const s = x as Record<string, unknown>;
  return typeof s.capability === 'string' && typeof s.served_by === 'string' && typeof s.route === 'string' && typeof s.ms === 'number' && typeof s.cost === 'number';
}

export function formatSteps(params: Readonly<Record<string, string | number | boolean>>): string {
  const raw = params['plexus.steps'];
  if (typeof raw !== 'string') return '';
  let steps: unknown;
  try {
    steps = JSON.parse(raw);
  } catch {
    return '';
  }
  if (!Array.isArray(steps)) return '';
  const short = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);
  return steps.filter(isStep).map((s) => {
    const hops = s.route.split(',').filter((h) => h !== '').map(short);
    const via = hops.length > 1 ? ` via ${hops.join(' → ')}` : '';
    return `step ${s.capability}: served by ${short(s.served_by) || 'this node'}${via}, cost ${s.cost}, ${s.ms} ms\n`;
  }).join('');
}
