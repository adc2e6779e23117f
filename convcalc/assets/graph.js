/* convcalc's interactive network drawing: lays out the layers and blocks with dagre (bundled
   above), then pan (drag), zoom (wheel, +/-), hover for every number of a layer or block, search
   by name (expanding the blocks that hide the layer found), and blocks that expand (click a
   collapsed block) and collapse (click an expanded block's frame). Everything shown comes from
   the JSON written by convcalc (its lines, numbers and colours); this script only decides what
   is visible and where it goes. No request leaves the page. */
"use strict";
(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const FONT = "11px DejaVu Sans Mono, Menlo, Consolas, monospace";
  const LINE = 14, PAD_X = 10, PAD_Y = 7;

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVGNS, name);
    for (const key in attrs) node.setAttribute(key, attrs[key]);
    if (parent) parent.appendChild(node);
    return node;
  }

  function Graph(root, data) {
    this.root = root;
    this.data = data;
    this.svg = root.querySelector("svg.graph");
    this.view = this.svg.querySelector("g.viewport");
    this.tip = root.querySelector(".tip");
    this.status = root.querySelector(".status");
    this.search = root.querySelector("input.search");
    this.blocks = new Map(data.blocks.map((b) => [b.name, b]));
    this.layersByName = new Map(data.layers.map((l) => [l.name, l]));
    this.collapsed = new Set(data.collapsed);
    this.scale = 1; this.tx = 0; this.ty = 0;
    this.hits = []; this.hit = -1;
    const canvas = document.createElement("canvas").getContext("2d");
    canvas.font = FONT;
    this.measure = (text) => canvas.measureText(text).width;
    // Each layer's enclosing blocks, outermost first (blocks come outer before inner).
    this.ancestors = data.layers.map(() => []);
    for (const b of data.blocks) for (let i = b.first; i <= b.last; i++) this.ancestors[i].push(b.name);
    this.bind();
    this.draw();
  }

  Graph.prototype.owner = function (index) {
    // The outermost collapsed block that holds layer `index`, or null.
    for (const name of this.ancestors[index]) if (this.collapsed.has(name)) return name;
    return null;
  };

  Graph.prototype.visible = function () {
    const d = this.data, nodes = [], drawnAs = new Map([["input", "input"]]), clusters = new Map();
    nodes.push({ id: "input", item: d.input, block: false });
    for (const layer of d.layers) {
      const owner = this.owner(layer.i);
      if (owner === null) {
        drawnAs.set(layer.name, layer.name);
        nodes.push({ id: layer.name, item: layer, block: false });
      } else {
        drawnAs.set(layer.name, owner);
        if (this.blocks.get(owner).first === layer.i) nodes.push({ id: owner, item: this.blocks.get(owner), block: true });
      }
    }
    // Expanded blocks with something visible inside are frames; the innermost holds the node.
    for (const node of nodes) {
      if (node.id === "input") continue;
      const index = node.block ? node.item.first : node.item.i;
      const open = [];
      for (const name of this.ancestors[index]) {
        if (name === node.id || this.collapsed.has(name)) break;
        open.push(name);
      }
      node.parent = open.length ? open[open.length - 1] : null;
      open.forEach((name, k) => { if (!clusters.has(name)) clusters.set(name, k ? open[k - 1] : null); });
    }
    const edges = new Map();
    for (const layer of d.layers) {
      const target = drawnAs.get(layer.name);
      const reads = layer.inputs.map((n) => [n, false]).concat(layer.side.map((n) => [n, true]));
      for (const [name, side] of reads) {
        const source = drawnAs.get(name);
        if (source === target) continue;
        const key = source + "\u0000" + target;
        const shape = name === "input" ? d.input.shape : this.layersByName.get(name).shape;
        const edge = edges.get(key) || { source, target, shapes: [], side };
        if (!edge.shapes.includes(shape)) edge.shapes.push(shape);
        if (!side) edge.side = false;
        edges.set(key, edge);
      }
    }
    return { nodes, edges: [...edges.values()], clusters };
  };

  const MAX_NODES = 4000;  // dagre needs seconds beyond this; the page stays responsive instead

  Graph.prototype.draw = function () {
    const started = performance.now();
    const { nodes, edges, clusters } = this.visible();
    if (nodes.length > MAX_NODES) {
      const view = this.view;
      while (view.firstChild) view.removeChild(view.firstChild);
      const note = el("text", { x: 20, y: 40 }, view);
      note.textContent = `${nodes.length - 1} nodes are more than this page lays out (${MAX_NODES}): ` +
        "collapse blocks, or find a layer by name to show its block";
      this.elements = new Map(); this.frames = new Map(); this.width = 900; this.height = 80;
      this.band = () => 0; this.shift = [[0, 0]];
      this.status.textContent = `${nodes.length - 1} nodes: not laid out`;
      return;
    }
    const g = new dagre.graphlib.Graph({ compound: true, multigraph: false });
    g.setGraph({ rankdir: "TB", nodesep: 22, ranksep: 26, edgesep: 12, marginx: 20, marginy: 20 });
    g.setDefaultEdgeLabel(() => ({}));
    for (const [name] of clusters) g.setNode("cluster:" + name, { label: name, paddingTop: 22 });
    for (const [name, parent] of clusters) if (parent) g.setParent("cluster:" + name, "cluster:" + parent);
    for (const node of nodes) {
      const lines = node.item.lines;
      node.width = Math.max(...lines.map(this.measure)) + 2 * PAD_X;
      node.height = lines.length * LINE + 2 * PAD_Y;
      g.setNode(node.id, { width: node.width, height: node.height });
      if (node.parent) g.setParent(node.id, "cluster:" + node.parent);
    }
    for (const edge of edges) {
      const label = edge.shapes.join(" | ");
      g.setEdge(edge.source, edge.target, { width: this.measure(label) + 6, height: 12, labelpos: "r", labeloffset: 4 });
      edge.label = label;
    }
    dagre.layout(g);
    this.wrap(g, nodes, clusters);
    this.render(g, nodes, edges, clusters);
    this.status.textContent = `${nodes.length - 1} nodes for ${this.data.layers.length} layers, ` +
      `laid out in ${Math.round(performance.now() - started)} ms`;
  };

  const GAP = 60;  // between the columns of a wrapped drawing

  Graph.prototype.wrap = function (g, nodes, clusters) {
    // A tall drawing (a chain of 175 layers is 15,000 px high and 500 wide) cut into side-by-side
    // columns, so that fitted to the window it is read at the largest scale: cuts go only where
    // no node or block frame spans (between ranks, between top-level blocks), and the number of
    // columns is the one whose fitted scale is largest. this.band(y) -> the column of a point;
    // this.shift[k] -> that column's [dx, dy].
    const box = this.svg.getBoundingClientRect();
    const spans = [];
    for (const node of nodes) { const n = g.node(node.id); spans.push([n.y - n.height / 2 - 8, n.y + n.height / 2 + 8]); }
    for (const [name] of clusters) { const c = g.node("cluster:" + name); spans.push([c.y - c.height / 2 - 4, c.y + c.height / 2 + 4]); }
    spans.sort((a, b) => a[0] - b[0]);
    const cuts = [];  // y values no span crosses
    let reach = -Infinity;
    for (const [top, bottom] of spans) {
      if (reach > -Infinity && top > reach) cuts.push((reach + top) / 2);
      reach = Math.max(reach, bottom);
    }
    const size = g.graph(), width = size.width, height = size.height;
    let best = { scale: 0, bands: [] };
    for (let k = 1; k <= 16 && box.width > 0 && box.height > 0; k++) {
      const bands = [];  // cut y values, greedily: a column ends at the last cut before its share
      let start = 0;
      for (const cut of cuts) {
        if (bands.length === k - 1) break;
        if (cut - start >= height / k) { bands.push(cut); start = cut; }
      }
      const edges = [0, ...bands, height];
      const tallest = Math.max(...edges.slice(1).map((y, i) => y - edges[i]));
      const wide = (bands.length + 1) * width + bands.length * GAP;
      const scale = Math.min(box.width / wide, box.height / tallest);
      if (scale > best.scale * 1.02) best = { scale, bands };
      if (bands.length < k - 1) break;  // no more cuts to make
    }
    const bands = best.bands, starts = [0, ...bands];
    this.band = (y) => { let k = 0; while (k < bands.length && y > bands[k]) k++; return k; };
    this.shift = starts.map((top, k) => [k * (width + GAP), -top + (k ? 20 : 0)]);
    this.width = (bands.length + 1) * width + bands.length * GAP;
    this.height = Math.max(...[...bands, height].map((y, i) => y - starts[i])) + 20;
  };

  Graph.prototype.moved = function (x, y, k) {
    // A point of the dagre layout in its column (k: the column, else the point's own).
    const [dx, dy] = this.shift[k === undefined ? this.band(y) : k];
    return [x + dx, y + dy];
  };

  Graph.prototype.render = function (g, nodes, edges, clusters) {
    const view = this.view;
    while (view.firstChild) view.removeChild(view.firstChild);
    const frames = el("g", { class: "clusters" }, view);
    this.frames = new Map();
    for (const [name] of clusters) {
      const c = Object.assign({}, g.node("cluster:" + name));
      [c.x, c.y] = this.moved(c.x, c.y);
      const b = this.blocks.get(name);
      const frame = el("g", { class: "cluster", "data-block": name }, frames);
      el("rect", { x: c.x - c.width / 2, y: c.y - c.height / 2, width: c.width, height: c.height, rx: 8 }, frame);
      const label = el("text", { x: c.x - c.width / 2 + 8, y: c.y - c.height / 2 + 14 }, frame);
      label.textContent = "\u25BE " + b.lines[0];
      frame.addEventListener("click", (event) => { event.stopPropagation(); this.toggle(name); });
      this.frames.set(name, { x: c.x, y: c.y - c.height / 2 + 120 });
      frame.addEventListener("mousemove", (event) => this.showTip(event, b));
      frame.addEventListener("mouseleave", () => this.hideTip());
    }
    const lines = el("g", { class: "edges" }, view);
    const labels = el("g", { class: "shapes" }, view);
    for (const edge of edges) {
      const e = g.edge(edge.source, edge.target);
      // An edge that crosses into the next column: its run in each column, and a dotted line
      // from where it leaves one column to where it enters the next.
      const runs = [];
      for (const p of e.points) {
        const k = this.band(p.y), [x, y] = this.moved(p.x, p.y, k);
        if (!runs.length || runs[runs.length - 1].k !== k) runs.push({ k, points: [] });
        runs[runs.length - 1].points.push([x, y]);
      }
      runs.forEach((run, r) => {
        const d = "M" + run.points.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" L");
        const last = r === runs.length - 1;
        el("path", last ? { d, class: edge.side ? "side" : "", "marker-end": "url(#arrow)" } : { d, class: edge.side ? "side" : "" }, lines);
        if (!last) {
          const [x0, y0] = run.points[run.points.length - 1], [x1, y1] = runs[r + 1].points[0];
          el("path", { d: `M${x0.toFixed(1)},${y0.toFixed(1)} L${x1.toFixed(1)},${y1.toFixed(1)}`, class: "wrap" }, lines);
        }
      });
      const [lx, ly] = this.moved(e.x, e.y);
      const t = el("text", { x: lx - e.width / 2 + 3, y: ly + 4 }, labels);
      t.textContent = edge.label;
    }
    const group = el("g", { class: "nodes" }, view);
    this.elements = new Map();
    for (const node of nodes) {
      const n = Object.assign({}, g.node(node.id)), item = node.item;
      [n.x, n.y] = this.moved(n.x, n.y);
      const x = n.x - node.width / 2, y = n.y - node.height / 2;
      const cls = "node " + item.family;
      const box = el("g", { class: cls, "data-name": node.id, tabindex: 0 }, group);
      if (node.block && item.repeat > 1) {
        el("rect", { x: x + 5, y: y - 5, width: node.width, height: node.height, rx: 6, fill: item.fill, class: "stack" }, box);
      }
      el("rect", { x, y, width: node.width, height: node.height, rx: item.family === "merge" ? node.height / 2 : 6, fill: item.fill }, box);
      item.lines.forEach((line, k) => {
        const t = el("text", { x: n.x, y: y + PAD_Y + 11 + k * LINE, "text-anchor": "middle", class: k ? "" : "title" }, box);
        t.textContent = line;
      });
      box.addEventListener("mousemove", (event) => this.showTip(event, item));
      box.addEventListener("mouseleave", () => this.hideTip());
      if (node.block) box.addEventListener("click", (event) => { event.stopPropagation(); this.toggle(node.id); });
      this.elements.set(node.id, { element: box, x: n.x, y: n.y });
    }
  };

  Graph.prototype.showTip = function (event, item) {
    const tip = this.tip;
    tip.textContent = "";
    const table = document.createElement("table");
    for (const [key, value] of item.tip) {
      const row = table.insertRow();
      row.insertCell().textContent = key;
      row.insertCell().textContent = value;
    }
    tip.appendChild(table);
    tip.hidden = false;
    const box = this.root.getBoundingClientRect();
    let left = event.clientX - box.left + 16, top = event.clientY - box.top + 16;
    if (left + tip.offsetWidth > box.width) left = Math.max(0, event.clientX - box.left - tip.offsetWidth - 16);
    if (top + tip.offsetHeight > box.height) top = Math.max(0, box.height - tip.offsetHeight);
    tip.style.left = left + "px"; tip.style.top = top + "px";
  };

  Graph.prototype.hideTip = function () { this.tip.hidden = true; };

  Graph.prototype.apply = function () {
    this.view.setAttribute("transform", `translate(${this.tx.toFixed(2)},${this.ty.toFixed(2)}) scale(${this.scale.toFixed(5)})`);
  };

  Graph.prototype.fit = function () {
    // The whole drawing in the window, centred, in whatever state its blocks are (wrap() made
    // its columns for this window); never larger than 125%.
    const box = this.svg.getBoundingClientRect();
    if (!(box.width > 0 && box.height > 0)) return;  // not shown yet (a closed panel)
    this.scale = Math.min(box.width / this.width, box.height / this.height, 1.25);
    this.tx = (box.width - this.width * this.scale) / 2; this.ty = (box.height - this.height * this.scale) / 2;
    this.apply();
  };

  Graph.prototype.centre = function (id, scale) {
    const item = this.elements.get(id) || this.frames.get(id);
    if (!item) return;
    const box = this.svg.getBoundingClientRect();
    if (scale) this.scale = scale;
    this.tx = box.width / 2 - item.x * this.scale; this.ty = box.height / 2 - item.y * this.scale;
    this.apply();
  };

  Graph.prototype.zoom = function (factor, cx, cy) {
    const next = Math.min(8, Math.max(0.02, this.scale * factor));
    factor = next / this.scale;
    this.tx = cx - (cx - this.tx) * factor; this.ty = cy - (cy - this.ty) * factor;
    this.scale = next;
    this.apply();
  };

  Graph.prototype.toggle = function (name) {
    // The drawing is laid out again (its columns too): keep the block clicked where it was on
    // the screen, at the same scale.
    const before = this.elements.get(name) || this.frames.get(name);
    const screen = before && [this.tx + before.x * this.scale, this.ty + before.y * this.scale];
    if (this.collapsed.has(name)) this.collapsed.delete(name); else this.collapsed.add(name);
    this.draw();
    const after = this.elements.get(name) || this.frames.get(name);
    if (screen && after) {
      this.tx = screen[0] - after.x * this.scale; this.ty = screen[1] - after.y * this.scale;
      this.apply();
    } else this.centre(name);
  };

  Graph.prototype.setCollapsed = function (names) {
    this.collapsed = new Set(names);
    this.draw();
    this.fit();
  };

  Graph.prototype.find = function (text, step) {
    // Layers whose name holds `text` (case-insensitive, exact names first); Enter steps through them.
    const query = text.trim().toLowerCase();
    for (const old of this.view.querySelectorAll(".hit")) old.classList.remove("hit");
    if (!query) { this.hits = []; this.status.textContent = ""; return null; }
    if (step && this.hits.length && this.query === query) {
      this.hit = (this.hit + 1) % this.hits.length;
    } else {
      this.query = query;
      const exact = this.data.layers.filter((l) => l.name.toLowerCase() === query);
      const partial = this.data.layers.filter((l) => l.name.toLowerCase() !== query && l.name.toLowerCase().includes(query));
      this.hits = exact.concat(partial);
      this.hit = 0;
    }
    if (!this.hits.length) { this.status.textContent = `no layer named like '${text}'`; return null; }
    const layer = this.hits[this.hit];
    let changed = false;
    for (const name of this.ancestors[layer.i]) if (this.collapsed.delete(name)) changed = true;
    if (changed) this.draw();
    const found = this.elements.get(layer.name);
    if (!found) { this.status.textContent = `${layer.name}: #${layer.i}, in a drawing too large to lay out`; return null; }
    found.element.classList.add("hit");
    this.centre(layer.name, Math.max(this.scale, 1));
    this.status.textContent = `${this.hit + 1} of ${this.hits.length}: ${layer.name}`;
    return layer.name;
  };

  Graph.prototype.bind = function () {
    const svg = this.svg;
    let drag = null;
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      const box = svg.getBoundingClientRect();
      this.zoom(Math.exp(-event.deltaY * 0.0015), event.clientX - box.left, event.clientY - box.top);
    }, { passive: false });
    svg.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, tx: this.tx, ty: this.ty, moved: false };
    });
    window.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      this.tx = drag.tx + dx; this.ty = drag.ty + dy;
      this.apply();
    });
    window.addEventListener("pointerup", () => { drag = null; });
    svg.addEventListener("click", (event) => { if (drag && drag.moved) event.stopPropagation(); }, true);
    const button = (action, handler) => {
      const b = this.root.querySelector(`button[data-action="${action}"]`);
      if (b) b.addEventListener("click", handler);
    };
    button("fit", () => this.fit());
    button("zoom-in", () => { const b = svg.getBoundingClientRect(); this.zoom(1.25, b.width / 2, b.height / 2); });
    button("zoom-out", () => { const b = svg.getBoundingClientRect(); this.zoom(0.8, b.width / 2, b.height / 2); });
    button("expand-all", () => this.setCollapsed([]));
    button("repeats", () => this.setCollapsed(this.data.blocks.filter((b) => b.repeat > 1).map((b) => b.name)));
    button("collapse-all", () => this.setCollapsed(this.data.blocks.filter((b) => b.parent === null).map((b) => b.name)));
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); this.find(this.search.value, true); }
    });
    this.search.addEventListener("input", () => this.find(this.search.value, false));
    this.root.addEventListener("keydown", (event) => {
      if (event.target === this.search) return;
      if (event.key === "+" || event.key === "=") this.zoom(1.25, this.svg.clientWidth / 2, this.svg.clientHeight / 2);
      else if (event.key === "-") this.zoom(0.8, this.svg.clientWidth / 2, this.svg.clientHeight / 2);
      else if (event.key === "0") this.fit();
      else if (event.key === "/") { event.preventDefault(); this.search.focus(); }
    });
  };

  window.convcalcGraphs = [];
  for (const root of document.querySelectorAll(".convcalc-graph")) {
    const data = JSON.parse(document.getElementById(root.dataset.source).textContent);
    const graph = new Graph(root, data);
    graph.fit();
    window.convcalcGraphs.push(graph);
  }
})();
