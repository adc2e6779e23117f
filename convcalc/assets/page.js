/* convcalc report: the per-layer table sorts on a header click (numbers by their exact value)
   and filters by a word typed above it (name, kind or the layer's spec text). */
"use strict";
(function () {
  for (const table of document.querySelectorAll("table.layers")) {
    const body = table.tBodies[0];
    const rows = [...body.rows];
    const headers = [...table.tHead.rows[0].cells];
    let sorted = { column: -1, up: true };
    headers.forEach((th, column) => th.addEventListener("click", () => {
      const up = sorted.column === column ? !sorted.up : th.classList.contains("num") ? false : true;
      sorted = { column, up };
      headers.forEach((h) => h.classList.remove("sorted-up", "sorted-down"));
      th.classList.add(up ? "sorted-up" : "sorted-down");
      const key = (row) => {
        const cell = row.cells[column];
        return cell.dataset.value !== undefined ? Number(cell.dataset.value) : cell.textContent;
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const order = typeof x === "number" ? x - y : String(x).localeCompare(String(y));
        return (up ? order : -order) || Number(a.dataset.index) - Number(b.dataset.index);
      });
      for (const row of rows) body.appendChild(row);
    }));
    const filter = document.querySelector(`input.filter[data-table="${table.id}"]`);
    const count = document.querySelector(`.count[data-table="${table.id}"]`);
    if (filter) filter.addEventListener("input", () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const row of rows) {
        const text = row.dataset.search;
        const keep = words.every((w) => text.includes(w));
        row.hidden = !keep;
        if (keep) shown++;
      }
      if (count) count.textContent = `${shown} of ${rows.length} layers`;
    });
  }
})();
