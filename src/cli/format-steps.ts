// `plexus query` output for a pipeline's answer: one line per step call from plexus.steps,
// "step ocr.detect: served by …X via P → X, cost 0, 232.9 ms"; '' when the answer has none.
import { PARAM } from '../wire/params.ts';
import { readSteps } from '../wire/steps.ts';

export function formatSteps(params: Readonly<Record<string, string | number | boolean>>): string {
  const steps = readSteps(params[PARAM.steps]);
  const short = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);
  return steps.map((s) => {
    const hops = s.route.split(',').filter((h) => h !== '').map(short);
    const via = hops.length > 1 ? ` via ${hops.join(' → ')}` : '';
    return `step ${s.capability}: served by ${short(s.served_by) || 'this node'}${via}, cost ${s.cost}, ${s.ms} ms\n`;
  }).join('');
}
