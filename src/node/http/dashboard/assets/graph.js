// The cluster as cytoscape sees it: this node, every peer it is connected to (solid edge, RTT
// from the routes protocol's pings), and every provider its routing table reaches through a
// neighbour (dashed edge from that next hop). Node labels list the capabilities each provider
// advertises. Elements are updated in place; the layout reruns only when the node set changes.
import cytoscape from './cytoscape.esm.min.mjs';

export const shortId = (id) => (id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-6)}` : id);
const ms = (v) => (v === null || v < 0 ? '?' : v < 10 ? v.toFixed(2) : v.toFixed(1));

const STYLE = [
  { selector: 'node', style: { label: 'data(label)', 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 4, 'font-size': 10, 'background-color': '#a0aec0', width: 26, height: 26 } },
  { selector: 'node.self', style: { 'background-color': '#2b6cb0', width: 34, height: 34 } },
  { selector: 'node.neighbour', style: { 'background-color': '#38a169' } },
  { selector: 'node.on-route', style: { 'border-width': 4, 'border-color': '#dd6b20' } },
  { selector: 'edge', style: { label: 'data(label)', 'font-size': 9, width: 2, 'line-color': '#718096', 'curve-style': 'bezier', 'text-background-color': '#fff', 'text-background-opacity': 1 } },
  { selector: 'edge.via', style: { 'line-style': 'dashed', 'line-color': '#cbd5e0' } },
  { selector: 'edge.on-route', style: { 'line-color': '#dd6b20', width: 4 } },
];

/** Nodes and edges for one /api/cluster snapshot. */
export function graphElements(snapshot) {
  const caps = new Map(); // origin -> set of model/capability names it provides
  for (const r of snapshot.routes) {
    const set = caps.get(r.origin) ?? new Set();
    for (const c of r.capabilities.length > 0 ? r.capabilities : [r.model]) set.add(c);
    caps.set(r.origin, set);
  }
  const nodes = new Map();
  const addNode = (id, kind) => {
    if (id === '' || (nodes.has(id) && kind === 'remote')) return;
    const provides = [...(caps.get(id) ?? [])].sort().join('\n');
    nodes.set(id, { group: 'nodes', data: { id, label: `${shortId(id)}${provides ? `\n${provides}` : ''}` }, classes: kind });
  };
  addNode(snapshot.self || 'this node', 'self');
  const self = snapshot.self || 'this node';
  const edges = new Map();
  for (const p of snapshot.peers) {
    addNode(p.peerId, 'neighbour');
    edges.set(`${self}|${p.peerId}`, { group: 'edges', data: { id: `${self}|${p.peerId}`, source: self, target: p.peerId, label: p.rttMs === null ? 'connected' : `${ms(p.rttMs)} ms` }, classes: 'link' });
  }
  for (const r of snapshot.routes) {
    if (r.local || r.origin === r.nextHop) continue;
    addNode(r.nextHop, 'remote');
    addNode(r.origin, 'remote');
    const id = `${r.nextHop}|${r.origin}`;
    if (!edges.has(id) && !edges.has(`${r.origin}|${r.nextHop}`)) {
      edges.set(id, { group: 'edges', data: { id, source: r.nextHop, target: r.origin, label: `${r.hops} hops · path ${ms(r.pathMs)} ms` }, classes: 'via' });
    }
  }
  return [...nodes.values(), ...edges.values()];
}

export function createGraph(container) {
  const cy = cytoscape({ container, style: STYLE, elements: [], minZoom: 0.3, maxZoom: 3 });
  let nodeKey = '';
  return {
    cy,
    update(snapshot) {
      const wanted = graphElements(snapshot);
      const ids = new Set(wanted.map((e) => e.data.id));
      cy.batch(() => {
        cy.elements().filter((e) => !ids.has(e.id())).remove();
        for (const e of wanted) {
          const have = cy.getElementById(e.data.id);
          if (have.empty()) cy.add(e);
          else { have.data(e.data); have.classes(`${e.classes}${have.hasClass('on-route') ? ' on-route' : ''}`); }
        }
      });
      const key = cy.nodes().map((n) => n.id()).sort().join(',');
      if (key !== nodeKey) {
        nodeKey = key;
        cy.layout({ name: cy.nodes().length > 2 ? 'circle' : 'grid', padding: 40, animate: false }).run();
      }
    },
    /** Highlights the peers (and the links between them) a query took. */
    showRoute(peers) {
      cy.elements().removeClass('on-route');
      for (const [i, p] of peers.entries()) {
        cy.getElementById(p).addClass('on-route');
        const prev = peers[i - 1];
        if (prev !== undefined) cy.edges().filter((e) => (e.source().id() === prev && e.target().id() === p) || (e.source().id() === p && e.target().id() === prev)).addClass('on-route');
      }
    },
  };
}
