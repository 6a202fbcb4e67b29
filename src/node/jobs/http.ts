// GET /api/jobs: the newest jobs with their progress, for the dashboard's jobs table (read-only,
// capped at MAX_API_JOBS). Answers only its own path and says so, like the other HTTP routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobService } from './service.ts';

export const MAX_API_JOBS = 100;

export function createJobsApi(jobs: () => JobService | undefined): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== '/api/jobs') return false;
    const send = (status: number, value: unknown): void => {
      const body = JSON.stringify(value);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      send(405, { error: 'read-only: use GET /api/jobs' });
      return true;
    }
    const service = jobs();
    const list = service?.list(MAX_API_JOBS) ?? [];
    send(200, {
      at: Date.now(),
      enabled: service !== undefined,
      jobs: list.map((j) => ({
        id: j.id, label: j.label, state: j.state, stopReason: j.stopReason, items: j.items, done: j.done, failed: j.failed,
        pending: j.pending, running: j.running, cancelled: j.cancelled, skipped: j.skipped, cost: j.cost, maxCost: j.maxCost ?? null,
        createdMs: j.createdMs, endedMs: j.endedMs || null, deadlineMs: j.deadlineMs, failures: j.failures,
      })),
    });
    return true;
  };
}
