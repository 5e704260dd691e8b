// eccr view: sorting, filtering, search and keyboard navigation over the documents of the page.
(function () {
  "use strict";
  const docs = [...document.querySelectorAll("section.doc")];
  const main = document.querySelector("main");
  const search = document.getElementById("search");
  const sort = document.getElementById("sort");
  const onlyMissed = document.getElementById("only-missed");
  const onlyFragmented = document.getElementById("only-fragmented");
  const maxF1 = document.getElementById("max-f1");
  const maxF1Value = document.getElementById("max-f1-value");
  const shown = document.getElementById("shown");
  let current = -1;

  const num = (doc, key) => parseFloat(doc.dataset[key]);
  const byOrder = (a, b) => num(a, "order") - num(b, "order");
  const orders = {
    worst: (a, b) => num(a, "f1") - num(b, "f1") || byOrder(a, b),
    best: (a, b) => num(b, "f1") - num(a, "f1") || byOrder(a, b),
    missed: (a, b) => num(b, "missed") - num(a, "missed") || num(a, "f1") - num(b, "f1"),
    fragmented: (a, b) => num(b, "fragmented") - num(a, "fragmented") || num(a, "f1") - num(b, "f1"),
    id: byOrder,
  };
  const visible = () => docs.filter((d) => !d.classList.contains("hidden"));

  function keep(doc, query, limit) {
    if (onlyMissed.checked && num(doc, "missed") === 0) return false;
    if (onlyFragmented.checked && num(doc, "fragmented") === 0) return false;
    if (num(doc, "f1") > limit + 1e-9) return false;
    if (!query) return true;
    return doc.dataset.id.includes(query) || doc.querySelector(".both").textContent.includes(query);
  }

  // Search hits are painted with the CSS Custom Highlight API: the document markup is never changed.
  function highlightMatches(query) {
    if (!(window.CSS && CSS.highlights)) return;
    if (!query) { CSS.highlights.delete("search"); return; }
    const ranges = [];
    for (const doc of visible()) {
      const walker = document.createTreeWalker(doc.querySelector(".both"), NodeFilter.SHOW_TEXT);
      const nodes = [];
      for (let node = walker.nextNode(); node; node = walker.nextNode()) nodes.push(node);
      const full = nodes.map((n) => n.data).join("");
      for (let at = full.indexOf(query); at >= 0; at = full.indexOf(query, at + query.length)) {
        const range = new Range();
        let offset = 0, started = false;
        for (const node of nodes) {
          const end = offset + node.data.length;
          if (!started && at < end) { range.setStart(node, at - offset); started = true; }
          if (started && at + query.length <= end) { range.setEnd(node, at + query.length - offset); break; }
          offset = end;
        }
        ranges.push(range);
      }
    }
    CSS.highlights.set("search", new Highlight(...ranges));
  }

  function apply() {
    const query = search.value.trim();
    const limit = parseFloat(maxF1.value);
    maxF1Value.textContent = limit.toFixed(2);
    docs.sort(orders[sort.value]).forEach((d) => main.appendChild(d));
    docs.forEach((d) => d.classList.toggle("hidden", !keep(d, query, limit)));
    highlightMatches(query);
    shown.textContent = visible().length + " of " + docs.length + " documents";
    current = -1;
    docs.forEach((d) => d.classList.remove("current"));
  }

  function go(step) {
    const list = visible();
    if (!list.length) return;
    current = Math.max(0, Math.min(list.length - 1, current + step));
    docs.forEach((d) => d.classList.remove("current"));
    const doc = list[current];
    doc.classList.add("current");
    doc.focus({ preventScroll: true });
    doc.scrollIntoView({ block: "start" });
    window.scrollBy(0, -document.getElementById("top").offsetHeight - 8);
  }

  [search, sort, onlyMissed, onlyFragmented, maxF1].forEach((e) => e.addEventListener("input", apply));
  document.addEventListener("keydown", (e) => {
    if (e.target === search) {
      if (e.key === "Escape") { search.value = ""; apply(); search.blur(); }
      if (e.key === "Enter") { search.blur(); go(1); }
      return;
    }
    if (e.target.tagName === "SELECT" || e.ctrlKey || e.metaKey || e.altKey) return;
    const actions = {
      j: () => go(1), ArrowDown: () => go(1), n: () => go(1),
      k: () => go(-1), ArrowUp: () => go(-1), p: () => go(-1),
      "/": () => search.focus(),
      m: () => { onlyMissed.checked = !onlyMissed.checked; apply(); },
      f: () => { onlyFragmented.checked = !onlyFragmented.checked; apply(); },
      s: () => {
        const options = [...sort.options];
        const next = (options.findIndex((o) => o.value === sort.value) + 1) % options.length;
        sort.value = options[next].value;
        apply();
      },
      t: () => document.body.classList.toggle("two-rows"),
      "?": () => document.body.classList.toggle("help"),
    };
    if (actions[e.key]) { actions[e.key](); e.preventDefault(); }
  });
  apply();
})();
