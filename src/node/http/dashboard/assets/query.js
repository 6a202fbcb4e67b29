// The test-query form: POSTs a KServe v2 REST request to this node's /v2/models/{name}/infer
// and shows the answer with the route the node took (plexus.route, served_by, cost, hop ms).
// A file becomes one BYTES element ({"b64": ...}), sent as the input its type picks (an image
// to `image`, a WAV to `audio`); JSON mode takes an `inputs` array or a whole request object.
// OCR text and a pipeline's steps are shown by query-answer.js.
import { shortId } from './graph.js';
import { fileKind, inputForKind, renderSteps, renderText } from './query-answer.js';

const PREVIEW_ELEMENTS = 16;

function base64(buffer) {
  const bytes = new Uint8Array(buffer);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

async function metadata(model) {
  const res = await fetch(`/v2/models/${encodeURIComponent(model)}`, { signal: AbortSignal.timeout(3000) });
  return res.ok ? res.json() : undefined;
}

function preview(output) {
  const data = Array.isArray(output.data) ? output.data : [];
  const shown = data.slice(0, PREVIEW_ELEMENTS).map((v) => (typeof v === 'object' && v !== null ? JSON.stringify(v).slice(0, 200) : String(v)));
  const more = data.length > PREVIEW_ELEMENTS ? ` … (${data.length} elements)` : '';
  return `${output.name} ${output.datatype} [${output.shape.join(', ')}]\n  ${shown.join(', ')}${more}`;
}

export function attachQueryForm({ form, onRoute }) {
  const $ = (id) => document.getElementById(id);
  const model = $('query-model');
  const inputName = $('query-input-name');
  const result = $('query-result');

  const mode = () => new FormData(form).get('mode');
  form.addEventListener('change', (e) => {
    if (e.target.name !== 'mode') return;
    $('file-inputs').hidden = mode() !== 'file';
    $('json-inputs').hidden = mode() !== 'json';
  });
  // The model's first BYTES input is the natural target of a file.
  model.addEventListener('change', async () => {
    const meta = await metadata(model.value.trim()).catch(() => undefined);
    const bytesInput = meta?.inputs?.find((i) => i.datatype === 'BYTES');
    if (bytesInput !== undefined) inputName.value = bytesInput.name;
  });
  // A chosen file picks the input named for its type (PNG/JPEG: image, WAV: audio) when the
  // model has one; an image is previewed.
  let imageUrl;
  $('query-file').addEventListener('change', async () => {
    const file = $('query-file').files[0];
    const img = $('query-image');
    if (imageUrl !== undefined) URL.revokeObjectURL(imageUrl);
    imageUrl = undefined;
    img.hidden = true;
    if (file === undefined) return;
    const kind = await fileKind(file);
    if (kind === 'png' || kind === 'jpeg') {
      imageUrl = URL.createObjectURL(file);
      img.src = imageUrl;
      img.hidden = false;
    }
    const meta = await metadata(model.value.trim()).catch(() => undefined);
    const name = inputForKind(kind, meta);
    if (name !== undefined) inputName.value = name;
  });
  $('query-template').addEventListener('click', async () => {
    const meta = await metadata(model.value.trim()).catch(() => undefined);
    if (meta === undefined) return;
    const inputs = meta.inputs.map((i) => {
      const shape = i.shape.map((d) => (d < 0 ? 1 : d));
      const n = shape.reduce((a, b) => a * b, 1);
      return { name: i.name, datatype: i.datatype, shape, data: new Array(n).fill(i.datatype === 'BYTES' ? '' : i.datatype === 'BOOL' ? false : 0) };
    });
    $('query-json').value = JSON.stringify(inputs);
  });

  async function requestBody() {
    let body;
    if (mode() === 'file') {
      const file = $('query-file').files[0];
      if (file === undefined) throw new Error('choose a file first');
      body = { inputs: [{ name: inputName.value.trim(), datatype: 'BYTES', shape: [1], data: [{ b64: base64(await file.arrayBuffer()) }] }] };
    } else {
      const parsed = JSON.parse($('query-json').value);
      body = Array.isArray(parsed) ? { inputs: parsed } : parsed;
    }
    const prefer = $('query-prefer').value;
    if (prefer) body.parameters = { ...body.parameters, 'plexus.prefer': prefer };
    return body;
  }

  function show(rows, outputs, ok, answer) {
    result.hidden = false;
    renderText($('query-text-block'), $('query-text'), answer?.outputs);
    renderSteps($('query-steps'), answer?.parameters?.['plexus.steps']);
    result.classList.toggle('bad', !ok);
    $('query-route').replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      dd.dataset.field = k;
      return [dt, dd];
    }));
    $('query-outputs').textContent = outputs;
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = model.value.trim();
    const send = $('query-send');
    send.disabled = true;
    const started = performance.now();
    try {
      const res = await fetch(`/v2/models/${encodeURIComponent(name)}/infer`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(await requestBody()),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = await res.json();
      const took = `${(performance.now() - started).toFixed(1)} ms`;
      if (!res.ok) {
        show([['status', `HTTP ${res.status}`], ['error', answer.error ?? JSON.stringify(answer)], ['took', took]], '', false);
        return;
      }
      const p = answer.parameters ?? {};
      const route = String(p['plexus.route'] ?? '').split(',').filter(Boolean);
      show([
        ['model', `${answer.model_name} v${answer.model_version}`],
        ['served by', String(p['plexus.served_by'] ?? '')],
        ['route', route.map(shortId).join(' → ')],
        ['cost', String(p['plexus.cost'] ?? '')],
        ['hop ms', String(p['plexus.hop_ms'] ?? '')],
        ['took', took],
      ], answer.outputs.map(preview).join('\n'), true, answer);
      onRoute(route);
    } catch (err) {
      show([['error', err instanceof Error ? err.message : String(err)]], '', false);
    } finally {
      send.disabled = false;
    }
  });
}
