/* unmask viewer: replays solve/search traces and bench results from the JSON payload inlined in
   the page (schema: docs/view-format.md). Plain script, no dependencies, no network. */
(function () {
  "use strict";

  const payload = JSON.parse(document.getElementById("unmask-payload").textContent);
  const app = document.getElementById("app");

  // --- small helpers ---------------------------------------------------------------------
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v == null || v === false) continue;
      if (k === "text") el.textContent = v;
      else if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids) if (kid != null) el.append(kid);
    return el;
  }
  const SVGNS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, text) {
    const el = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v != null) el.setAttribute(k, v);
    if (text != null) el.textContent = text;
    return el;
  }
  function fmt(x, digits) {
    if (x == null || Number.isNaN(x)) return "–";
    if (x === 0) return "0";
    const a = Math.abs(x);
    if (a < 1e-3 || a >= 1e5) return x.toExponential((digits || 3) - 1);
    return String(Number(x.toPrecision(digits || 3)));
  }
  const pct = (x) => (x == null ? "–" : (100 * x).toFixed(x < 1 && 100 * x > 99.9 ? 2 : 1) + "%");

  // viridis, 11 stops
  const VIR = ["#440154", "#482475", "#414487", "#355f8d", "#2a788e", "#21918c", "#22a884",
    "#44bf70", "#7ad151", "#bddf26", "#fde725"].map((c) => [1, 3, 5].map((i) => parseInt(c.substr(i, 2), 16)));
  function viridis(t) {
    t = Math.min(1, Math.max(0, t)) * (VIR.length - 1);
    const i = Math.min(VIR.length - 2, Math.floor(t)), f = t - i;
    const c = VIR[i].map((v, j) => Math.round(v + f * (VIR[i + 1][j] - v)));
    return "rgb(" + c.join(",") + ")";
  }
  const VIR_CSS = "linear-gradient(to right," + VIR.map((c) => "rgb(" + c.join(",") + ")").join(",") + ")";

  const rc = (pz, c) => "r" + (Math.floor(c / pz.width) + 1) + "c" + ((c % pz.width) + 1);
  const sym = (pz, t) => (t == null || t < 0 ? "" : pz.symbols[t] != null ? pz.symbols[t] : String(t));
  const MAZE = { OPEN: 0, PATH: 1, WALL: 2, START: 3, GOAL: 4 };
  const MAZE_NAMES = ["open", "path", "wall", "start", "goal"];
  const valueName = (pz, t) => (pz.renderer === "maze" && MAZE_NAMES[t] ? MAZE_NAMES[t] + " (" + sym(pz, t) + ")" : sym(pz, t));

  // --- a run, folded: the board after every event ----------------------------------------
  function prep(pz, run) {
    if (run._p) return run._p;
    const L = pz.height * pz.width, evs = run.events, E = evs.length;
    let board = Int16Array.from(pz.puzzle), src = new Int32Array(L), setAt = new Int32Array(L);
    const unknown = pz.puzzle.filter((t) => t < 0).length;
    const P = { pz, run, L, E, boards: [board], src: [src], setAt: [setAt], nfe: [0], frac: [0], unknown };
    for (let k = 1; k <= E; k++) {
      const ev = evs[k - 1];
      board = board.slice(); src = src.slice(); setAt = setAt.slice();
      for (const [c, t] of ev.set) {
        const had = board[c] >= 0;
        board[c] = t; setAt[c] = k;
        if ((ev.info && ev.info[c]) || !had) src[c] = k; // a backtrack keeps the reveal's info
      }
      for (const c of ev.unset) { board[c] = -1; src[c] = 0; setAt[c] = 0; }
      let filled = 0;
      for (let c = 0; c < L; c++) if (pz.puzzle[c] < 0 && board[c] >= 0) filled++;
      P.boards.push(board); P.src.push(src); P.setAt.push(setAt);
      P.nfe.push(ev.nfe); P.frac.push(unknown ? filled / unknown : 1);
    }
    if (!unknown) P.frac[0] = 1;
    run._p = P;
    return P;
  }

  // What is known of cell c after event k: its reveal's info and the scores the colours show.
  function cellState(P, k, c) {
    const pz = P.pz, t = P.boards[k][c];
    if (pz.puzzle[c] >= 0) return { given: true, token: t };
    if (t < 0) return { masked: true };
    const e = P.src[k][c], ev = e ? P.run.events[e - 1] : null, inf = ev && ev.info ? ev.info[c] : null;
    const setEv = P.run.events[P.setAt[k][c] - 1];
    const st = { token: t, event: e, ev, inf, setEvent: P.setAt[k][c], setEv, entropy: null, prob: null };
    if (inf) {
      st.entropy = inf.entropy;
      const hit = inf.top.find((p) => p[0] === t);
      const placed = ev.set.find((p) => p[0] === c);
      st.prob = hit ? hit[1] : placed && placed[1] === t ? inf.prob : null;
    } else if (ev && ev.kind === "fill") {
      st.entropy = 0; st.prob = 1; // forced by the rules
    }
    st.order = setEv ? setEv.nfe : null;
    return st;
  }

  // Colour domains shared by every run of a puzzle.
  function domains(pz) {
    if (pz._dom) return pz._dom;
    let hmax = 0, pmin = 1, nmax = 1;
    for (const run of pz.runs) {
      nmax = Math.max(nmax, run.nfe);
      for (const ev of run.events) for (const inf of Object.values(ev.info || {})) {
        hmax = Math.max(hmax, inf.entropy);
        pmin = Math.min(pmin, inf.prob, ...inf.top.map((p) => p[1]));
      }
    }
    pz._dom = { entropy: [0, hmax || 1], prob: [Math.min(pmin, 0.999), 1], order: [1, Math.max(2, nmax)] };
    return pz._dom;
  }
  const COLOR_LABEL = { entropy: "entropy at reveal (nats)", prob: "probability of the value at reveal", order: "forward pass of the reveal" };
  function scoreT(pz, st, mode) {
    const v = mode === "entropy" ? st.entropy : mode === "prob" ? st.prob : st.order;
    if (v == null) return null;
    const [lo, hi] = domains(pz)[mode];
    const t = (v - lo) / (hi - lo || 1);
    return mode === "prob" ? 1 - t : t; // bright = uncertain on both score scales
  }

  // --- the rule at work: recomputed from the recorded scores ------------------------------
  function proxyOf(run, ev) {
    if (ev.proxy) return ev.proxy;
    const name = run.sampler.proxy || "entropy";
    if (name === "confidence" && ev.confidence) return ev.confidence.map((x) => -x);
    return ev.entropy || ev.order.map(() => 0);
  }
  function rule(run, ev) {
    const sm = run.sampler, n = ev.order.length, recorded = ev.set.map((p) => p[0]);
    const R = { name: sm.name, n, bars: null, curve: null, line: null, log: false, label: "", taken: [] };
    if (sm.name === "eb" && ev.entropy) {
      let sum = 0, max = -Infinity, k = 0;
      R.curve = [];
      for (const x of ev.entropy) {
        sum += x; max = Math.max(max, x);
        R.curve.push(sum - max);
        if (sum - max <= sm.gamma && k === R.curve.length - 1) k++;
      }
      R.taken = ev.order.slice(0, Math.max(1, k));
      R.bars = ev.entropy; R.line = sm.gamma; R.log = true;
      R.label = "entropy H (bars), running sum(H) − max(H) (line) against γ = " + fmt(sm.gamma);
    } else if (sm.name === "topk") {
      R.taken = ev.order.slice(0, Math.min(n, sm.k));
      const px = proxyOf(run, ev), name = sm.proxy || "entropy";
      R.bars = name === "entropy" ? px : px.map((x) => -x); R.log = name === "entropy";
      R.label = (name === "entropy" ? "entropy" : name) + " by the error proxy; the first k = " + sm.k;
    } else if (sm.name === "threshold" && ev.confidence) {
      const ok = ev.order.filter((c, i) => ev.confidence[i] >= sm.tau);
      R.taken = ok.length ? ok : ev.order.slice(0, 1);
      R.bars = ev.confidence; R.line = sm.tau;
      R.label = "confidence (max probability) against τ = " + fmt(sm.tau);
    } else {
      const planned = new Set(recorded);
      R.taken = ev.order.filter((c) => planned.has(c));
      R.bars = ev.entropy || null; R.log = true; R.planned = true;
      R.label = sm.name === "dus" ? "a fixed plan: the cells planned for this pass (bars: entropy)"
        : "a seeded random order: the cells drawn for this pass (bars: entropy)";
    }
    const a = new Set(R.taken);
    R.agrees = recorded.length === a.size && recorded.every((c) => a.has(c));
    return R;
  }

  function drawRule(panel, pz, run, k, onCell) {
    panel.textContent = "";
    const ev = k > 0 ? run.events[k - 1] : null;
    panel.removeAttribute("data-taken"); panel.removeAttribute("data-recorded"); panel.removeAttribute("data-agrees");
    panel.append(h("h3", { text: "The rule at work" }));
    if (!ev || ev.kind !== "pass") {
      const what = !ev ? "the puzzle as given: no pass yet" : ev.kind === "fill"
        ? "cells forced by the rules: no forward pass, no sampler rule"
        : ev.kind + ": the search, not the sampler, chose these cells";
      panel.append(h("p", { class: "muted", text: "Event " + k + " is " + what + "." }));
      if (ev && ev.kind === "backtrack") {
        const P = prep(pz, run), st = cellState(P, k, ev.cell), before = P.boards[k - 1][ev.cell];
        if (st.inf) {
          const list = h("ol", { class: "alternatives" });
          for (const [t, p] of st.inf.top)
            list.append(h("li", { class: t === ev.token ? "now" : t === before ? "was" : "" },
              sym(pz, t) + "  (p " + fmt(p, 3) + ")" + (t === before ? " — taken back" : t === ev.token ? " — tried now" : "")));
          panel.append(h("p", { text: "Branch cell " + rc(pz, ev.cell) + ": its values by probability at its reveal (event " + st.event + "):" }), list);
        }
      }
      return;
    }
    const R = rule(run, ev);
    panel.dataset.taken = R.taken.join(",");
    panel.dataset.recorded = ev.set.map((p) => p[0]).join(",");
    panel.dataset.agrees = String(R.agrees);
    panel.append(h("p", { class: "rule-summary" },
      "Pass " + ev.nfe + ": " + R.n + " masked cells, most certain first; the rule takes " + R.taken.length + ".",
      R.agrees ? null : h("span", { class: "warn", text: " The trace set " + ev.set.length + " other cells (rounded scores?)." })));
    if (!R.bars || !R.n) return;
    const show = Math.min(R.n, Math.max(48, R.taken.length + 16));
    const W = 440, H = 170, ml = 44, mr = 8, mt = 10, mb = 22, pw = W - ml - mr, ph = H - mt - mb;
    const svg = s("svg", { class: "rule-chart", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img" });
    const vals = R.bars.slice(0, show), curve = R.curve ? R.curve.slice(0, show) : null;
    let y;
    if (R.log) {
      const pos = vals.concat(curve || []).filter((v) => v > 0);
      if (R.line) pos.push(R.line);
      const top = Math.max(...pos, 1e-6), lo = Math.min(...pos, top / 10);
      const d0 = Math.floor(Math.log10(lo)), d1 = Math.ceil(Math.log10(Math.max(...vals, R.line || 0, lo * 10)));
      y = (v) => Math.max(mt, mt + ph - (ph * (Math.log10(Math.max(v, 10 ** d0)) - d0)) / (d1 - d0 || 1));
      for (let d = d0; d <= d1; d += Math.max(1, Math.ceil((d1 - d0) / 5))) {
        svg.append(s("line", { x1: ml, x2: ml + pw, y1: y(10 ** d), y2: y(10 ** d), class: "grid" }));
        svg.append(s("text", { x: ml - 4, y: y(10 ** d) + 3, class: "tick", "text-anchor": "end" }, "1e" + d));
      }
    } else {
      y = (v) => mt + ph - ph * Math.max(0, Math.min(1, v));
      for (const v of [0, 0.5, 1]) {
        svg.append(s("line", { x1: ml, x2: ml + pw, y1: y(v), y2: y(v), class: "grid" }));
        svg.append(s("text", { x: ml - 4, y: y(v) + 3, class: "tick", "text-anchor": "end" }, String(v)));
      }
    }
    const bw = Math.min(pw / show, 18), taken = new Set(R.taken);
    vals.forEach((v, i) => {
      const c = ev.order[i], top = Math.min(y(v), mt + ph - 1);
      const bar = s("rect", { x: ml + i * bw + bw * 0.1, width: Math.max(0.6, bw * 0.8), y: top, height: mt + ph - top,
        class: "bar" + (taken.has(c) ? " taken" : ""), "data-cell": c });
      bar.append(s("title", {}, "#" + (i + 1) + " " + rc(pz, c) + ": " + fmt(v, 4)));
      bar.addEventListener("mouseenter", () => onCell(c));
      svg.append(bar);
    });
    if (curve) {
      const pts = curve.map((v, i) => (ml + (i + 0.5) * bw).toFixed(1) + "," + y(Math.max(v, 1e-12)).toFixed(1));
      svg.append(s("polyline", { points: pts.join(" "), class: "bound" }));
    }
    if (R.line != null) {
      svg.append(s("line", { x1: ml, x2: ml + pw, y1: y(R.line), y2: y(R.line), class: "limit" }));
      svg.append(s("text", { x: ml + pw - 2, y: y(R.line) - 3, class: "tick limit-label", "text-anchor": "end" },
        (R.name === "eb" ? "γ " : "τ ") + fmt(R.line)));
    }
    if (R.taken.length && !R.planned) {
      const x = ml + R.taken.length * bw;
      svg.append(s("line", { x1: x, x2: x, y1: mt, y2: mt + ph, class: "cut" }));
    }
    svg.append(s("text", { x: ml, y: H - 6, class: "tick" }, "masked cells in proxy order" + (show < R.n ? " (first " + show + " of " + R.n + ")" : "")));
    panel.append(svg, h("p", { class: "legend-line" }, h("span", { class: "key taken" }), " taken  ", h("span", { class: "key" }), " left masked  ",
      curve ? h("span", { class: "key bound" }) : null, curve ? " sum − max  " : null, h("span", { class: "muted", text: R.label })));
  }

  // --- boards -----------------------------------------------------------------------------
  function makeBoard(pz, cellPx, onCell, onClick) {
    const board = h("div", { class: "board r-" + pz.renderer });
    board.style.setProperty("--cell", cellPx + "px");
    board.style.gridTemplateColumns = "repeat(" + pz.width + ", var(--cell))";
    const cells = [];
    for (let c = 0; c < pz.height * pz.width; c++) {
      const el = h("div", { class: "cell", "data-cell": c, "data-token": "" });
      cells.push(el);
      board.append(el);
    }
    board.addEventListener("mouseover", (e) => { const c = e.target.dataset && e.target.dataset.cell; if (c != null) onCell(+c); });
    board.addEventListener("mouseleave", () => onCell(null));
    board.addEventListener("click", (e) => { const c = e.target.dataset && e.target.dataset.cell; if (c != null) onClick(+c); });
    board._cells = cells;
    return board;
  }

  function paintBoard(board, P, k, color, pinned) {
    const pz = P.pz, run = P.run, b = P.boards[k], w = pz.width, box = pz.box;
    const ev = k > 0 ? run.events[k - 1] : null, last = k === P.E;
    const now = new Set(ev ? ev.set.map((p) => p[0]) : []), back = new Set(ev ? ev.unset : []);
    const branchCell = ev && ev.kind === "backtrack" ? ev.cell : -1;
    board.dataset.event = k;
    for (let c = 0; c < P.L; c++) {
      const el = board._cells[c], t = b[c], st = cellState(P, k, c), r = Math.floor(c / w), col = c % w;
      let cls = "cell", text = "", bg = "", dot = "";
      if (box && col % box === box - 1 && col !== w - 1) cls += " bx-r";
      if (box && r % box === box - 1 && r !== pz.height - 1) cls += " bx-b";
      if (st.given) {
        cls += " given";
        if (pz.renderer === "maze") {
          cls += t === MAZE.WALL ? " wall" : t === MAZE.START || t === MAZE.GOAL ? " endpoint" : "";
          text = t === MAZE.START ? "S" : t === MAZE.GOAL ? "G" : "";
        } else text = sym(pz, t);
      } else if (st.masked) {
        cls += " masked";
      } else {
        cls += " filled";
        const tt = scoreT(pz, st, color);
        const col2 = tt == null ? "" : viridis(tt);
        if (tt == null) cls += " noscore";
        if (pz.renderer === "maze") {
          if (t === MAZE.PATH) { cls += " path"; bg = col2; } else { cls += " open"; dot = col2 || "#888"; }
        } else {
          bg = col2; text = sym(pz, t);
          if (tt != null && tt > 0.62) cls += " light";
        }
        if (st.inf && st.inf.branch && run.search) cls += " bp";
      }
      if (now.has(c)) cls += " current";
      if (back.has(c)) cls += " taken-back";
      if (c === branchCell) cls += " branch-cell";
      if (last && !run.valid && run.first_wrong === c) cls += " wrong";
      else if (last && pz.solution && t >= 0 && pz.puzzle[c] < 0 && t !== pz.solution[c]) cls += " off";
      if (c === pinned) cls += " pinned";
      if (el.className !== cls) el.className = cls;
      const tok = t >= 0 ? String(t) : "";
      if (el.dataset.token !== tok) el.dataset.token = tok;
      if (el.textContent !== text) el.textContent = text;
      if (el.style.backgroundColor !== bg) el.style.backgroundColor = bg;
      if (dot) el.style.setProperty("--dot", dot); else el.style.removeProperty("--dot");
    }
  }

  function legend(pz, color) {
    const [lo, hi] = domains(pz)[color];
    const bar = h("span", { class: "ramp" });
    bar.style.background = VIR_CSS;
    if (color === "prob") bar.style.transform = "scaleX(-1)";
    const lab = color === "order" ? [String(lo), String(hi)] : [fmt(lo), fmt(hi)];
    return h("div", { class: "legend" }, h("span", { class: "legend-title", text: COLOR_LABEL[color] + ":" }),
      h("span", { text: lab[0] }), bar, h("span", { text: lab[1] }),
      h("span", { class: "muted", text: color === "prob" ? "  (bright = unsure)" : color === "entropy" ? "  (bright = unsure)" : "" }));
  }

  function marks(run) {
    const key = (cls, text) => [h("span", { class: "mark" }, h("span", { class: "mark-key " + cls }), " " + text)];
    return h("p", { class: "legend-line marks" }, ...key("current", "set by this event"), ...key("taken-back", "taken back"),
      ...(run.search ? key("branch-cell", "branch cell").concat(key("bp", "branch point")) : []),
      ...key("wrong", "first wrong cell (final board)"));
  }

  function verdict(run) {
    return run.valid ? h("span", { class: "verdict ok", text: "✓ valid" })
      : h("span", { class: "verdict bad", text: "✗ refused: " + (run.reason || "invalid") });
  }

  function eventNote(pz, P, k) {
    if (k === 0) return "The puzzle as given: " + P.unknown + " cells to fill.";
    const ev = P.run.events[k - 1], n = ev.set.length;
    if (ev.kind === "pass") return "Pass " + ev.nfe + ": " + n + " cell" + (n === 1 ? "" : "s") + " revealed (outlined).";
    if (ev.kind === "fill") return "Fill: " + n + " cell" + (n === 1 ? "" : "s") + " forced by the rules, no forward pass.";
    if (ev.kind === "backtrack") {
      const before = P.boards[k - 1][ev.cell];
      return "Backtrack: " + ev.unset.length + " cell" + (ev.unset.length === 1 ? "" : "s") + " taken back (dashed); branch cell " +
        rc(pz, ev.cell) + " changes from " + (sym(pz, before) || "?") + " to the next value, " + sym(pz, ev.token) + ".";
    }
    return "Remask: " + ev.unset.length + " cells masked again (dashed).";
  }

  // --- the timeline strip -----------------------------------------------------------------
  function timeline(P, go) {
    const strip = h("div", { class: "timeline", role: "list" });
    strip.append(h("span", { class: "tick start", "data-event": 0, title: "the puzzle", onclick: () => go(0) }));
    P.run.events.forEach((ev, i) => {
      strip.append(h("span", { class: "tick " + ev.kind, "data-event": i + 1, "data-kind": ev.kind,
        title: "event " + (i + 1) + ": " + ev.kind + " (nfe " + ev.nfe + ", " + ev.set.length + " set" + (ev.unset.length ? ", " + ev.unset.length + " back" : "") + ")",
        onclick: () => go(i + 1) }));
    });
    strip._mark = (k) => { for (const t of strip.children) t.classList.toggle("now", +t.dataset.event === k); };
    return strip;
  }

  // --- the cell panel ---------------------------------------------------------------------
  function cellPanel() {
    const panel = h("div", { id: "cell-info", class: "cell-info" });
    panel._show = (P, k, c, pinned) => {
      panel.textContent = "";
      if (c == null || !P) {
        panel.append(h("h3", { text: "Cell" }), h("p", { class: "muted", text: "Hover or click a cell (click pins it)." }));
        panel.dataset.cell = "";
        return;
      }
      const pz = P.pz, st = cellState(P, k, c);
      panel.dataset.cell = c;
      panel.append(h("h3", { id: "ci-cell", text: "Cell " + rc(pz, c) + " (#" + c + ")" + (pinned ? " — pinned" : "") }));
      const rows = [];
      const add = (key, label, value) => rows.push(h("dt", { text: label }), h("dd", { id: "ci-" + key, text: value }));
      if (st.given) add("state", "state", "given: " + valueName(pz, st.token));
      else if (st.masked) add("state", "state", "masked at event " + k);
      else {
        add("state", "value", valueName(pz, st.token));
        const setEv = st.setEv;
        add("pass", "set by", "event " + st.setEvent + " (" + setEv.kind + ", nfe " + setEv.nfe + ")" +
          (st.event && st.event !== st.setEvent ? "; scores from the pass of event " + st.event : ""));
        add("entropy", "entropy", fmt(st.entropy, 4) + (st.entropy != null ? " nats" : ""));
        add("prob", "probability", fmt(st.prob, 4));
        if (P.run.search) add("branch", "branch point", st.inf && st.inf.branch ? "yes" : "no");
      }
      if (pz.solution && pz.puzzle[c] < 0) add("solution", "answer", valueName(pz, pz.solution[c]));
      panel.append(h("dl", {}, ...rows));
      if (st.inf) {
        const table = h("table", { class: "top3" }, h("tr", {}, h("th", { text: "value" }), h("th", { text: "prob." }), h("th")));
        for (const [t, p] of st.inf.top) {
          const bar = h("span", { class: "pbar" });
          bar.style.width = Math.max(1, Math.round(p * 80)) + "px";
          table.append(h("tr", { class: "top-row" + (t === st.token ? " placed" : ""), "data-token": t },
            h("td", { class: "top-token", text: valueName(pz, t) }), h("td", { class: "top-prob", "data-prob": p, text: fmt(p, 4) }), h("td", {}, bar)));
        }
        panel.append(h("p", { class: "muted", text: "Top values when it was revealed:" }), table);
      }
    };
    return panel;
  }

  // --- the viewer -------------------------------------------------------------------------
  function viewer(root, puzzles, intro) {
    const order = puzzles.map((pz, i) => i);
    const S = { pi: 0, ri: 0, k: 0, compare: false, stepBy: "nfe", ti: 0, color: payload.color || "entropy", timer: null, pinned: null, hover: null, hoverRun: null };
    const picker = puzzles.length > 1 ? h("select", { id: "puzzle-picker", "aria-label": "puzzle" }) : null;
    if (picker) {
      order.forEach((i) => {
        const pz = puzzles[i], bad = pz.runs.filter((r) => !r.valid).length;
        picker.append(h("option", { value: i, text: pz.id + " (" + pz.source + " #" + pz.index + ")" + (bad ? " ✗ " + bad + " failed" : "") }));
      });
      picker.addEventListener("change", () => { S.pi = +picker.value; S.ri = 0; S.k = 0; S.ti = 0; S.pinned = null; build(); });
    }
    const runTabs = h("div", { class: "run-tabs", role: "tablist" });
    const compareBox = h("input", { type: "checkbox", id: "compare-toggle" });
    const stepBy = h("select", { id: "step-by", "aria-label": "step compare mode by" },
      h("option", { value: "nfe", text: "by pass (NFE)" }), h("option", { value: "fraction", text: "by cells filled" }));
    const colorBy = h("select", { id: "color-by", "aria-label": "colour cells by" },
      h("option", { value: "entropy", text: "entropy" }), h("option", { value: "prob", text: "probability" }), h("option", { value: "order", text: "reveal pass" }));
    colorBy.value = S.color;
    const btn = (id, text, label, fn) => h("button", { id, type: "button", "aria-label": label, title: label, text, onclick: fn });
    const slider = h("input", { type: "range", id: "event-slider", min: 0, max: 0, value: 0, step: 1, "aria-label": "event" });
    const playBtn = btn("play", "play", "play / pause (Space)", () => toggle());
    const index = h("span", { id: "event-index", class: "event-index" });
    const kindEl = h("span", { id: "event-kind", class: "event-kind" });
    const stage = h("div", { class: "stage" });
    const cellInfo = cellPanel();
    if (intro) root.append(intro);
    root.append(
      h("div", { class: "controls" }, picker ? h("label", {}, "Puzzle ", picker) : null,
        h("label", { class: "toggle" }, compareBox, " compare runs"), h("label", { class: "step-by" }, "step ", stepBy),
        h("label", {}, "colour ", colorBy)),
      h("div", { class: "controls" }, h("span", { class: "muted", text: "Run" }), runTabs),
      h("div", { class: "transport" }, btn("first", "|◀", "first event (Home)", () => go(0)), btn("back", "◀", "step back (Left)", () => step(-1)),
        playBtn, btn("forward", "▶", "step forward (Right)", () => step(1)), btn("last", "▶|", "last event (End)", () => go(Infinity)),
        slider, index, kindEl),
      stage);
    compareBox.addEventListener("change", () => { S.compare = compareBox.checked; stop(); build(); });
    stepBy.addEventListener("change", () => { S.stepBy = stepBy.value; S.ti = 0; build(); });
    colorBy.addEventListener("change", () => { S.color = colorBy.value; build(); });
    slider.addEventListener("input", () => go(+slider.value));

    let V = null; // what build() made: boards, panels, the compare ticks
    const pz = () => puzzles[S.pi];

    function build() {
      stop();
      const p = pz();
      runTabs.textContent = "";
      p.runs.forEach((run, i) => runTabs.append(h("button", { type: "button", role: "tab", class: "run-tab" + (i === S.ri && !S.compare ? " active" : ""),
        "data-run": i, "aria-selected": String(i === S.ri), text: run.label + (run.valid ? "" : " ✗"),
        onclick: () => { S.ri = i; S.k = 0; S.compare = false; compareBox.checked = false; S.pinned = null; build(); } })));
      compareBox.disabled = p.runs.length < 2;
      stepBy.parentNode.hidden = !S.compare;
      stage.textContent = "";
      stage.className = "stage" + (S.compare ? " compare" : "");
      if (!p.runs.length) { stage.append(h("p", { class: "muted", text: "This puzzle has no runs." })); V = null; return; }
      const Ps = p.runs.map((r) => prep(p, r));
      const maxSide = Math.max(p.height, p.width);
      V = { Ps, boards: [], strips: [], heads: [], notes: [] };
      if (!S.compare) {
        const P = Ps[S.ri], cell = Math.max(6, Math.min(44, Math.floor(430 / maxSide)));
        const board = makeBoard(p, cell, (c) => hover(S.ri, c), (c) => pin(S.ri, c));
        board.dataset.run = S.ri;
        const strip = timeline(P, go);
        const note = h("p", { id: "event-note", class: "event-note" });
        const rulePanel = h("div", { id: "rule-panel", class: "rule-panel" });
        V.boards.push(board); V.strips.push(strip); V.notes.push(note); V.rule = rulePanel;
        stage.append(
          h("div", { class: "main-col" },
            h("div", { class: "run-head" }, h("strong", { text: P.run.label }), " ", searchTag(P.run), " ", verdict(P.run),
              h("span", { class: "muted", text: "  " + P.run.nfe + " NFE, " + P.E + " events" })),
            h("div", { id: "timeline" }, strip), board, note, legend(p, S.color), marks(P.run)),
          h("div", { class: "side-col" }, cellInfo, rulePanel));
        slider.max = P.E;
        S.k = Math.min(S.k, P.E);
      } else {
        const avail = Math.max(300, (root.clientWidth || 1000) - 20);
        const cell = Math.max(4, Math.min(34, Math.floor((avail / p.runs.length - 24) / p.width), Math.floor(380 / p.height)));
        const row = h("div", { class: "compare-row" });
        Ps.forEach((P, i) => {
          const board = makeBoard(p, cell, (c) => hover(i, c), (c) => pin(i, c));
          board.dataset.run = i;
          const strip = timeline(P, (k) => goCompareTo(i, k));
          const head = h("div", { class: "panel-head" }, h("strong", { text: P.run.label }), " ", verdict(P.run));
          const note = h("p", { class: "event-note small" });
          V.boards.push(board); V.strips.push(strip); V.heads.push(head); V.notes.push(note);
          row.append(h("div", { class: "compare-panel", "data-run": i }, head, strip, board, note));
        });
        V.ticks = compareTicks(Ps);
        stage.append(row, legend(p, S.color), cellInfo);
        slider.max = V.ticks.length - 1;
        S.ti = Math.min(S.ti, V.ticks.length - 1);
      }
      draw();
    }

    function searchTag(run) {
      if (!run.search) return null;
      return h("span", { class: "tag", text: run.search.mode + " (branch H > " + fmt(run.search.branch_entropy) + ")" });
    }

    // compare mode: the shared positions (NFE values or fractions filled) and each run's event there
    function compareTicks(Ps) {
      const vals = new Set();
      if (S.stepBy === "nfe") { const m = Math.max(...Ps.map((P) => P.run.nfe)); for (let t = 0; t <= m; t++) vals.add(t); }
      else for (const P of Ps) for (const f of P.frac) vals.add(Math.round(f * 1000) / 1000);
      return [...vals].sort((a, b) => a - b);
    }
    function eventAt(P, t) {
      if (S.stepBy === "nfe") { let k = 0; for (let j = 0; j <= P.E; j++) if (P.nfe[j] <= t) k = j; return k; }
      for (let j = 0; j <= P.E; j++) if (Math.round(P.frac[j] * 1000) / 1000 >= t) return j;
      return P.E;
    }
    function goCompareTo(i, k) { // clicking a run's strip: the first position that shows event k
      const P = V.Ps[i], t = S.stepBy === "nfe" ? P.nfe[k] : Math.round(P.frac[k] * 1000) / 1000;
      go(Math.max(0, V.ticks.indexOf(t)));
    }

    function draw() {
      if (!V) return;
      const p = pz();
      if (!S.compare) {
        const P = V.Ps[S.ri], k = S.k;
        paintBoard(V.boards[0], P, k, S.color, S.pinned);
        V.strips[0]._mark(k);
        slider.value = k;
        index.textContent = "event " + k + " / " + P.E;
        index.dataset.event = k;
        const ev = k ? P.run.events[k - 1] : null;
        kindEl.textContent = ev ? ev.kind + " · nfe " + ev.nfe : "puzzle";
        kindEl.dataset.kind = ev ? ev.kind : "start";
        V.notes[0].textContent = eventNote(p, P, k);
        V.notes[0].dataset.kind = ev ? ev.kind : "start";
        drawRule(V.rule, p, P.run, k, (c) => hover(S.ri, c));
        showCell();
      } else {
        const t = V.ticks[S.ti];
        slider.value = S.ti;
        index.textContent = (S.stepBy === "nfe" ? "NFE " + t : pct(t) + " filled") + "  (" + (S.ti) + " / " + (V.ticks.length - 1) + ")";
        index.dataset.event = S.ti;
        index.dataset.position = t;
        kindEl.textContent = ""; kindEl.dataset.kind = "";
        V.Ps.forEach((P, i) => {
          const k = eventAt(P, t);
          paintBoard(V.boards[i], P, k, S.color, S.hoverRun === i ? S.pinned : null);
          V.strips[i]._mark(k);
          V.notes[i].textContent = "event " + k + " / " + P.E + " · nfe " + P.nfe[k] + " · " + pct(P.frac[k]) + " filled";
        });
        showCell();
      }
    }

    function showCell() {
      const c = S.hover != null ? S.hover : S.pinned;
      const i = S.compare ? (S.hoverRun != null ? S.hoverRun : 0) : S.ri;
      const P = V && V.Ps[i];
      if (!P) return cellInfo._show(null);
      const k = S.compare ? eventAt(P, V.ticks[S.ti]) : S.k;
      cellInfo._show(P, k, c, c != null && c === S.pinned && S.hover == null);
      if (S.compare && c != null) cellInfo.prepend(h("p", { class: "muted", text: P.run.label }));
    }
    function hover(i, c) { S.hover = c; if (c != null) S.hoverRun = i; showCell(); }
    function pin(i, c) { S.pinned = S.pinned === c && S.hoverRun === i ? null : c; S.hoverRun = i; draw(); }

    function length() { return S.compare ? V.ticks.length - 1 : V.Ps[S.ri].E; }
    function go(k) {
      if (!V) return;
      k = Math.max(0, Math.min(length(), k));
      if (S.compare) S.ti = k; else S.k = k;
      draw();
    }
    function step(d) { if (V) go((S.compare ? S.ti : S.k) + d); }
    function stop() { if (S.timer) clearInterval(S.timer); S.timer = null; playBtn.textContent = "play"; playBtn.classList.remove("on"); }
    function toggle() {
      if (!V) return;
      if (S.timer) return stop();
      if ((S.compare ? S.ti : S.k) >= length()) go(0);
      playBtn.textContent = "pause"; playBtn.classList.add("on");
      S.timer = setInterval(() => { if ((S.compare ? S.ti : S.k) >= length()) stop(); else step(1); }, 450);
    }
    document.addEventListener("keydown", (e) => {
      const tag = e.target && e.target.tagName;
      if (tag === "SELECT" || tag === "TEXTAREA" || (tag === "INPUT" && e.target.type !== "range" && e.target.type !== "checkbox")) return;
      if (e.altKey || e.ctrlKey || e.metaKey) return;
      const keys = { ArrowLeft: () => step(-1), ArrowRight: () => step(1), Home: () => go(0), End: () => go(Infinity), " ": toggle };
      const fn = keys[e.key];
      if (fn) { e.preventDefault(); fn(); }
    });
    document.addEventListener("keyup", (e) => { if (e.key === " " && e.target && e.target.tagName === "BUTTON") e.preventDefault(); });
    build();
  }

  // --- the report -------------------------------------------------------------------------
  const COLUMNS = [
    ["sampler", "sampler", (r) => r.sampler], ["family", "family", (r) => r.family],
    ["n", "n", (r) => r.n], ["accuracy", "accuracy", (r) => r.accuracy, (r) => pct(r.accuracy) + " (" + r.solved + "/" + r.n + ")"],
    ["mean_nfe", "mean NFE", (r) => r.mean_nfe, (r) => fmt(r.mean_nfe, 4)], ["median_nfe", "median NFE", (r) => r.median_nfe],
    ["p90_nfe", "p90 NFE", (r) => r.p90_nfe], ["max_nfe", "max NFE", (r) => r.max_nfe],
    ["speedup_nfe", "NFE speed-up", (r) => r.speedup_nfe, (r) => (r.speedup_nfe == null ? "–" : fmt(r.speedup_nfe, 3) + "×")],
    ["puzzles_per_second", "puzzles/s", (r) => r.puzzles_per_second, (r) => fmt(r.puzzles_per_second, 3)],
    ["validator_in_loop", "rules in loop", (r) => (r.validator_in_loop == null ? null : r.validator_in_loop ? 1 : 0), (r) => (r.validator_in_loop == null ? "–" : r.validator_in_loop ? "yes" : "no")],
  ];
  const FAMILY_COLORS = { eb: "#0072b2", topk: "#d55e00", threshold: "#009e73", dus: "#cc79a7", random: "#7f7f7f" };
  const famColor = (r) => FAMILY_COLORS[r.name || String(r.family || "").split("+")[0]] || "#e69f00";

  function report() {
    const rows = payload.rows.map((r, i) => Object.assign({ _i: i }, r));
    app.append(h("header", {}, h("h1", { text: payload.title }), payload.machine ? h("p", { class: "muted", text: "Machine: " + payload.machine }) : null));
    const refs = [...new Set(rows.map((r) => r.reference).filter(Boolean))];
    const table = h("table", { id: "bench-table", class: "bench" });
    const headRow = h("tr");
    let sortKey = null, dir = 1;
    COLUMNS.forEach(([key, label]) => headRow.append(h("th", { "data-key": key, class: "sortable", tabindex: 0, "aria-sort": "none", text: label,
      onclick: () => sortBy(key), onkeydown: (e) => { if (e.key === "Enter") sortBy(key); } })));
    const body = h("tbody");
    table.append(h("thead", {}, headRow), body);
    function fill() {
      body.textContent = "";
      for (const r of rows) {
        const tr = h("tr", { "data-sampler": r.sampler, "data-row": r._i, onmouseenter: () => mark(r._i, true), onmouseleave: () => mark(r._i, false) });
        for (const [key, , get, show] of COLUMNS) {
          const v = get(r);
          tr.append(h("td", { "data-key": key, class: typeof v === "number" ? "num" : "", text: show ? show(r) : v == null ? "–" : typeof v === "number" ? fmt(v, 4) : String(v) }));
        }
        body.append(tr);
      }
    }
    function sortBy(key) {
      dir = sortKey === key ? -dir : 1; sortKey = key;
      const get = COLUMNS.find((c) => c[0] === key)[2];
      rows.sort((a, b) => {
        const x = get(a), y = get(b);
        if (x == null || y == null) return x == null ? (y == null ? 0 : 1) : -1; // missing values last
        return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * dir;
      });
      for (const th of headRow.children) th.setAttribute("aria-sort", th.dataset.key === key ? (dir > 0 ? "ascending" : "descending") : "none");
      fill();
    }
    fill();
    app.append(h("section", {}, h("h2", { text: "Bench" }), h("div", { class: "table-wrap" }, table),
      h("p", { class: "muted", text: "Click a header to sort." + (refs.length === 1 ? " NFE speed-up is against " + refs[0] + "." : "") })));
    const chartBox = h("div", { class: "chart-box" });
    app.append(h("section", {}, h("h2", { text: "Accuracy against mean NFE" }), chartBox));
    const marks = chart(chartBox, rows);
    function mark(i, on) {
      const m = marks[i];
      if (m) m.classList.toggle("hot", on);
      const tr = body.querySelector('tr[data-row="' + i + '"]');
      if (tr) tr.classList.toggle("hot", on);
    }
    if (payload.puzzles.length) {
      const sorted = payload.puzzles.slice().sort((a, b) => (a.runs.every((r) => r.valid) ? 1 : 0) - (b.runs.every((r) => r.valid) ? 1 : 0));
      const sec = h("section", { class: "views" }, h("h2", { text: "Puzzles" }));
      app.append(sec);
      viewer(sec, sorted, h("p", { class: "muted", text: "A few puzzles per sampler, failures first." }));
    }
    return mark;
  }

  function chart(box, rows) {
    const W = 640, H = 340, ml = 54, mr = 18, mt = 14, mb = 44, pw = W - ml - mr, ph = H - mt - mb;
    const svg = s("svg", { id: "bench-chart", viewBox: "0 0 " + W + " " + H, width: W, height: H, role: "img", "aria-label": "accuracy against mean NFE" });
    const tip = h("div", { id: "chart-tooltip", class: "tooltip", hidden: true });
    box.append(svg, tip);
    const pts = rows.filter((r) => r.mean_nfe > 0);
    const marks = {};
    if (!pts.length) { svg.append(s("text", { x: ml, y: mt + 20, class: "tick" }, "no rows with a mean NFE > 0")); return marks; }
    let lo = Math.log10(Math.min(...pts.map((r) => r.mean_nfe))), hi = Math.log10(Math.max(...pts.map((r) => r.mean_nfe)));
    lo = Math.floor(lo * 2) / 2 - 0.1; hi = Math.ceil(hi * 2) / 2 + 0.1;
    if (hi - lo < 1) { lo -= 0.5; hi += 0.5; }
    const x = (v) => ml + (pw * (Math.log10(v) - lo)) / (hi - lo);
    const accs = pts.map((r) => r.accuracy), amin = Math.max(0, Math.floor(Math.min(...accs) * 10) / 10 - 0.05);
    const y = (a) => mt + ph - (ph * (a - amin)) / (1 - amin + 0.02);
    for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) for (const m of [1, 2, 5]) {
      const v = m * 10 ** d;
      if (Math.log10(v) < lo || Math.log10(v) > hi) continue;
      svg.append(s("line", { x1: x(v), x2: x(v), y1: mt, y2: mt + ph, class: m === 1 ? "grid major" : "grid" }));
      svg.append(s("text", { x: x(v), y: mt + ph + 14, class: "tick", "text-anchor": "middle" }, fmt(v)));
    }
    for (let a = Math.ceil(amin * 10) / 10; a <= 1.0001; a += 0.1) {
      svg.append(s("line", { x1: ml, x2: ml + pw, y1: y(a), y2: y(a), class: "grid" }));
      svg.append(s("text", { x: ml - 6, y: y(a) + 3, class: "tick", "text-anchor": "end" }, Math.round(a * 100) + "%"));
    }
    svg.append(s("text", { x: ml + pw / 2, y: H - 8, class: "axis", "text-anchor": "middle" }, "mean NFE (forward passes per puzzle, log scale)"));
    svg.append(s("text", { x: 14, y: mt + ph / 2, class: "axis", "text-anchor": "middle", transform: "rotate(-90 14 " + (mt + ph / 2) + ")" }, "accuracy"));
    const placed = []; // label boxes already drawn: move a label down until it overlaps none
    const labelAt = (r) => {
      const x0 = x(r.mean_nfe) + 9, w = 6.2 * r.sampler.length;
      for (const dy of [-7, 15, -19, 27, -31, 39, -43, 51]) {
        const y0 = y(r.accuracy) + dy;
        if (!placed.some((b) => x0 < b[0] + b[2] && b[0] < x0 + w && Math.abs(b[1] - y0) < 12)) { placed.push([x0, y0, w]); return [x0, y0]; }
      }
      return [x0, y(r.accuracy) - 7];
    };
    for (const r of pts) {
      const g = s("g", { class: "point" + (r.validator_in_loop ? " rules" : ""), "data-sampler": r.sampler, tabindex: 0 });
      const c = s("circle", { cx: x(r.mean_nfe), cy: y(r.accuracy), r: 6 });
      c.style.fill = r.validator_in_loop ? "#fff" : famColor(r);
      c.style.stroke = famColor(r);
      const [lx, ly] = labelAt(r);
      g.append(c, s("text", { x: lx, y: ly, class: "point-label" }, r.sampler));
      const show = () => {
        tip.textContent = "";
        tip.append(...[h("strong", { text: r.sampler }),
          h("div", { text: "accuracy " + pct(r.accuracy) + " (" + r.solved + "/" + r.n + ")" }),
          h("div", { text: "mean NFE " + fmt(r.mean_nfe, 4) + (r.median_nfe != null ? ", median " + fmt(r.median_nfe, 4) : "") }),
          r.speedup_nfe != null ? h("div", { text: "NFE speed-up " + fmt(r.speedup_nfe, 3) + "×" }) : null,
          r.puzzles_per_second != null ? h("div", { text: fmt(r.puzzles_per_second, 3) + " puzzles/s" }) : null,
          r.validator_in_loop ? h("div", { class: "muted", text: "rules in the loop" }) : null].filter(Boolean));
        tip.hidden = false;
        tip.style.left = Math.min(W - 160, x(r.mean_nfe) + 14) + "px";
        tip.style.top = Math.max(0, y(r.accuracy) - 10) + "px";
        g.classList.add("hot");
      };
      const hide = () => { tip.hidden = true; g.classList.remove("hot"); };
      g.addEventListener("mouseenter", show); g.addEventListener("focus", show);
      g.addEventListener("mouseleave", hide); g.addEventListener("blur", hide);
      svg.append(g);
      marks[r._i] = g;
    }
    const fams = [...new Set(pts.map((r) => r.name || String(r.family || "").split("+")[0]))];
    box.append(h("p", { class: "legend-line" }, ...fams.flatMap((f) => {
      const k = h("span", { class: "key dot" }); k.style.background = FAMILY_COLORS[f] || "#e69f00"; return [k, " " + f + "  "];
    }), pts.some((r) => r.validator_in_loop) ? h("span", { class: "muted", text: "hollow: rules in the loop" }) : null));
    return marks;
  }

  // --- start ------------------------------------------------------------------------------
  if (payload.kind === "report") report();
  else {
    app.append(h("header", {}, h("h1", { text: payload.title })));
    viewer(app, payload.puzzles);
  }
})();
