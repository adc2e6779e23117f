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
    this.render(g, nodes, edges, clusters);
    this.status.textContent = `${nodes.length - 1} nodes for ${this.data.layers.length} layers, ` +
      `laid out in ${Math.round(performance.now() - started)} ms`;
  };

  Graph.prototype.render = function (g, nodes, edges, clusters) {
    const view = this.view;
    while (view.firstChild) view.removeChild(view.firstChild);
    const frames = el("g", { class: "clusters" }, view);
    this.frames = new Map();
    for (const [name] of clusters) {
      const c = g.node("cluster:" + name);
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
      const d = "M" + e.points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" L");
      el("path", { d, class: edge.side ? "side" : "", "marker-end": "url(#arrow)" }, lines);
      const t = el("text", { x: e.x - e.width / 2 + 3, y: e.y + 4 }, labels);
      t.textContent = edge.label;
    }
    const group = el("g", { class: "nodes" }, view);
    this.elements = new Map();
    for (const node of nodes) {
      const n = g.node(node.id), item = node.item;
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
    const size = g.graph();
    this.width = size.width; this.height = size.height;
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
    const box = this.svg.getBoundingClientRect();
    this.scale = Math.min(box.width / this.width, box.height / this.height, 1.25);
    if (this.scale < 0.75) {  // too small to read: the top of the graph, readable, to pan down from
      this.scale = Math.max(0.75, Math.min(1, box.width / this.width));
      this.tx = Math.max(0, (box.width - this.width * this.scale) / 2); this.ty = 0;
    } else {
      this.tx = (box.width - this.width * this.scale) / 2; this.ty = (box.height - this.height * this.scale) / 2;
    }
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
    if (this.collapsed.has(name)) this.collapsed.delete(name); else this.collapsed.add(name);
    this.draw();
    this.centre(name);
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
