"use strict";
// The node's page: reads the agent's JSON API and draws everything itself (no
// library), so it works offline and adds little to the binary.
(function () {
  const REFRESH_MS = 30000;
  const $ = (id) => document.getElementById(id);
  const SVGNS = "http://www.w3.org/2000/svg";
  const RESOURCE_NAMES = {
    filesystem_space: "Disk space", filesystem_inodes: "Inodes", memory: "Memory",
    swap: "Swap", file_descriptors: "File descriptors", pids: "PIDs",
  };
  let selected = new URLSearchParams(location.search).get("series") || "";
  let allSeries = [];
  let lastSeries = [];
  let firstRender = true;
  let showAll = false;
  const TOP_ROWS = 10;
  const errors = [];
  window.addEventListener("error", (e) => { errors.push(String(e.message)); document.body.dataset.errors = errors.length; });

  function fmtDuration(s) {
    if (s === null || s === undefined || !isFinite(s)) return "not within horizon";
    if (s <= 0) return "now";
    s = Math.round(s);
    const d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
    if (d > 0) return d + " d " + h + " h";
    if (h > 0) return h + " h " + m + " min";
    if (m > 0) return m + " min";
    return s + " s";
  }
  function fmtValue(v, metric) {
    if (v === null || v === undefined || !isFinite(v)) return "–";
    if (/_bytes$/.test(metric)) {
      const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
      let i = 0, x = Math.abs(v);
      while (x >= 1024 && i < units.length - 1) { x /= 1024; i++; }
      return (v < 0 ? "-" : "") + x.toFixed(x < 10 && i > 0 ? 2 : x < 100 && i > 0 ? 1 : 0) + " " + units[i];
    }
    if (/_ratio$/.test(metric)) return (v * 100).toFixed(1) + " %";
    if (/_celsius$|_temp$/.test(metric)) return v.toFixed(1) + " °C";
    if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(2) + " M";
    if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + " k";
    return Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(2);
  }
  function where(labels) {
    return labels.mountpoint || labels.device || labels.sensor || labels.zone || labels.cpu || "node";
  }
  function seriesLabel(s) {
    const l = Object.entries(s.labels || {}).map(([k, v]) => k + "=" + v).join(", ");
    return s.metric + (l ? " {" + l + "}" : "");
  }
  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  async function getJSON(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(body.error || r.status + " " + r.statusText), { status: r.status, body });
    return body;
  }

  function renderResources(series) {
    const rows = series.filter((s) => s.resource);
    rows.sort((a, b) => (a.time_to_exhaustion_seconds ?? Infinity) - (b.time_to_exhaustion_seconds ?? Infinity)
      || (b.exhaustion_probability || 0) - (a.exhaustion_probability || 0));
    const tbody = $("resources").querySelector("tbody");
    tbody.replaceChildren();
    const more = $("more");
    more.hidden = rows.length <= TOP_ROWS;
    more.textContent = showAll ? "Show the first " + TOP_ROWS : "Show all " + rows.length;
    rows.slice(0, showAll ? rows.length : TOP_ROWS).forEach((s, i) => {
      const tte = s.time_to_exhaustion_seconds;
      const tr = el("tr", { "data-series": s.series, tabindex: "0" });
      if (i === 0 && tte !== null) tr.className = "soon";
      else if ((s.exhaustion_probability || 0) >= 0.5) tr.className = "watch";
      tr.append(
        el("td", {}, RESOURCE_NAMES[s.resource] || s.resource),
        el("td", { class: "where" }, where(s.labels)),
        el("td", { class: "num tte" }, tte === null ? "not within horizon" : fmtDuration(tte)),
        el("td", { class: "num" }, ((s.exhaustion_probability || 0) * 100).toFixed(0) + " %"),
        el("td", {}, s.model),
        el("td", { class: "num" }, fmtDuration(s.history_seconds)));
      const pick = () => { selected = s.series; syncPick(); drawSelected(); };
      tr.addEventListener("click", pick);
      tr.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
      tbody.append(tr);
    });
    $("no-resources").hidden = rows.length > 0;
  }

  function renderWarmup(body) {
    const warming = body.warming_up || [];
    $("warmup").hidden = warming.length === 0;
    if (!warming.length) return;
    const first = warming[0];
    const skip = body.backfill_configured ? "" :
      " To skip the wait, start the agent with --backfill.prometheus-url and --backfill.selector: it pulls this node's history from Prometheus.";
    $("warmup-text").textContent = warming.length + " series are gathering history; a series is forecast once it has " +
      fmtDuration(body.needed_history_seconds) + " of it. First forecasts in " +
      fmtDuration(first.first_forecast_due_in_seconds) + "." + skip;
    const tbody = $("warming").querySelector("tbody");
    tbody.replaceChildren();
    for (const w of warming.slice(0, 200)) {
      const tr = el("tr");
      tbody.append(tr);
      tr.append(el("td", {}, seriesLabel(w)), el("td", { class: "num" }, fmtDuration(w.history_seconds)),
        el("td", { class: "num" }, "in " + fmtDuration(w.first_forecast_due_in_seconds)));
    }
  }

  function renderHealth(status) {
    const m = status.metrics || [];
    const val = (name, pred) => { const s = m.find((x) => x.name === name && (!pred || pred(x.labels))); return s ? s.value : null; };
    const sum = (name) => m.filter((x) => x.name === name).reduce((a, x) => a + (x.value || 0), 0);
    const failing = m.filter((x) => x.name === "nodecast_collector_success" && x.value === 0).map((x) => x.labels.collector);
    const errs = m.filter((x) => x.name === "nodecast_collector_errors_total" && x.value > 0)
      .map((x) => x.labels.collector + " (" + x.value + ")");
    const last = val("nodecast_forecast_cycle_last_run_timestamp_seconds");
    const f = status.forecast || {};
    const items = [
      ["Collectors", (status.collectors || []).length + " enabled" + (failing.length ? "; failing now: " + failing.join(", ") : "; all succeeded last time"), failing.length > 0],
      ["Collector errors", errs.length ? errs.join(", ") : "none", errs.length > 0],
      ["Store", fmtValue(val("nodecast_store_size_bytes"), "_bytes") + ", " + (val("nodecast_store_series") ?? "–") + " series; raw kept " +
        fmtDuration(val("nodecast_store_retention_seconds", (l) => l.tier === "raw")) + ", 5-minute kept " +
        fmtDuration(val("nodecast_store_retention_seconds", (l) => l.tier === "downsampled"))],
      ["Dropped samples", String(sum("nodecast_store_samples_dropped_total")), sum("nodecast_store_samples_dropped_total") > 0],
      ["Store errors", String(sum("nodecast_store_errors_total")), sum("nodecast_store_errors_total") > 0],
      ["Last forecast cycle", last ? fmtDuration(status.now_timestamp - last) + " ago, took " +
        ((val("nodecast_forecast_cycle_duration_seconds") || 0) * 1000).toFixed(0) + " ms, " +
        (val("nodecast_forecast_series") ?? 0) + " series" : "none yet"],
      ["Forecast settings", "every " + fmtDuration(f.interval_seconds) + ", horizon " + fmtDuration(f.horizon_seconds) +
        ", model " + f.model + ", " + f.level * 100 + " % intervals, needs " + fmtDuration(f.needed_history_seconds) + " of history"],
      ["Running for", fmtDuration(status.now_timestamp - status.started_timestamp)],
    ];
    const dl = $("health-list");
    dl.replaceChildren();
    for (const [k, v, bad] of items) dl.append(el("dt", {}, k), el("dd", bad ? { class: "bad" } : {}, v));
  }

  function syncPick() {
    const q = $("search").value.trim().toLowerCase();
    const pick = $("pick");
    const shown = allSeries.filter((s) => !q || seriesLabel(s).toLowerCase().includes(q));
    pick.replaceChildren(...shown.map((s) => {
      const o = el("option", { value: s.series }, seriesLabel(s));
      if (s.series === selected) o.selected = true;
      return o;
    }));
    if (!shown.some((s) => s.series === selected) && shown.length) selected = shown[0].series;
    pick.value = selected;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }
  function points(ts0, step, values) {
    const out = [];
    values.forEach((v, i) => { if (v !== null && isFinite(v)) out.push([ts0 + i * step, v]); });
    return out;
  }
  // Keeps a polyline under ~2 points per pixel column: min and max per column.
  function thin(pts, width) {
    if (pts.length <= width * 2) return pts;
    const t0 = pts[0][0], span = pts[pts.length - 1][0] - t0 || 1, cols = new Map();
    for (const p of pts) {
      const c = Math.floor((p[0] - t0) / span * width);
      const e = cols.get(c);
      if (!e) cols.set(c, [p, p]);
      else { if (p[1] < e[0][1]) e[0] = p; if (p[1] > e[1][1]) e[1] = p; }
    }
    const out = [];
    for (const [lo, hi] of cols.values()) { if (lo[0] <= hi[0]) out.push(lo, hi); else out.push(hi, lo); }
    return out;
  }

  function drawChart(fc, raw, ds) {
    const plot = $("plot");
    const W = Math.max(280, plot.clientWidth || 800), H = Math.max(200, plot.clientHeight || 320);
    plot.setAttribute("viewBox", "0 0 " + W + " " + H);
    plot.removeAttribute("preserveAspectRatio");
    plot.replaceChildren(svg("title", { id: "plot-title" }));
    plot.firstChild.textContent = "History and forecast of " + seriesLabel(fc);
    const rawPts = raw ? points(raw.start_timestamp, raw.step_seconds, raw.values) : [];
    const dsPts = ds ? points(ds.start_timestamp, ds.step_seconds, ds.values) : [];
    const fcPts = fc.points.map((p) => [p.timestamp, p.mean, p.lower ?? p.mean, p.upper ?? p.mean]);
    const all = rawPts.concat(dsPts);
    const tMin = (all.length ? all : fcPts).reduce((a, p) => Math.min(a, p[0]), Infinity);
    const tMax = fcPts.length ? fcPts[fcPts.length - 1][0] : Date.now() / 1000;
    let yMin = Infinity, yMax = -Infinity;
    for (const p of all) { yMin = Math.min(yMin, p[1]); yMax = Math.max(yMax, p[1]); }
    for (const p of fcPts) { yMin = Math.min(yMin, p[1], p[2]); yMax = Math.max(yMax, p[1], p[3]); }
    if (fc.resource) yMin = Math.min(yMin, 0);
    if (!isFinite(yMin)) { yMin = 0; yMax = 1; }
    if (yMax - yMin < 1e-12) { yMax += 1; yMin -= 1; }
    const pad = { l: 64, r: 12, t: 10, b: 24 };
    const x = (t) => pad.l + (t - tMin) / (tMax - tMin || 1) * (W - pad.l - pad.r);
    const y = (v) => H - pad.b - (v - yMin) / (yMax - yMin) * (H - pad.t - pad.b);
    for (let i = 0; i <= 4; i++) {
      const v = yMin + (yMax - yMin) * i / 4, yy = y(v);
      plot.append(svg("line", { class: "grid", x1: pad.l, x2: W - pad.r, y1: yy, y2: yy }));
      const t = svg("text", { x: pad.l - 6, y: yy + 4, "text-anchor": "end" });
      t.textContent = fmtValue(v, fc.metric);
      plot.append(t);
    }
    const ticks = Math.max(2, Math.floor((W - pad.l) / 140));
    for (let i = 0; i <= ticks; i++) {
      const tt = tMin + (tMax - tMin) * i / ticks;
      const label = svg("text", { x: x(tt), y: H - 6, "text-anchor": i === 0 ? "start" : i === ticks ? "end" : "middle" });
      const d = new Date(tt * 1000);
      label.textContent = d.toLocaleDateString(undefined, { month: "short", day: "numeric" }) + " " +
        d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
      plot.append(label);
    }
    const path = (pts, cls) => {
      if (!pts.length) return;
      plot.append(svg("polyline", { class: cls, points: pts.map((p) => x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1)).join(" ") }));
    };
    if (fcPts.length) {
      const band = fcPts.map((p) => x(p[0]).toFixed(1) + "," + y(p[3]).toFixed(1))
        .concat(fcPts.slice().reverse().map((p) => x(p[0]).toFixed(1) + "," + y(p[2]).toFixed(1)));
      plot.append(svg("polygon", { class: "band", points: band.join(" ") }));
    }
    path(thin(rawPts, W), "raw");
    path(thin(dsPts, W), "ds");
    path(fcPts, "mean");
    const now = Date.now() / 1000;
    if (now > tMin && now < tMax) plot.append(svg("line", { class: "now", x1: x(now), x2: x(now), y1: pad.t, y2: H - pad.b }));
    if (fc.resource) plot.append(svg("line", { class: "zero", x1: pad.l, x2: W - pad.r, y1: y(0), y2: y(0) }));
    const tte = fc.time_to_exhaustion_seconds;
    if (fc.resource && tte !== null && isFinite(tte)) {
      const at = Math.min(now + tte, tMax);
      plot.append(svg("circle", { class: "exh", cx: x(at), cy: y(0), r: 5 }));
    }
    const p = fc.exhaustion_probability;
    $("chart-info").textContent = seriesLabel(fc) + " — model " + fc.model + ", " + Math.round(fc.level * 100) +
      " % interval, step " + fmtDuration(fc.step_seconds) +
      (fc.resource ? "; runs out: " + (tte === null ? "not within horizon" : "in " + fmtDuration(tte)) +
        " (probability " + ((p || 0) * 100).toFixed(0) + " %)" : "") + accuracyText(fc.monitor);
  }

  // Online accuracy of what was exposed, the shadow challenger and the last drift.
  function accuracyText(m) {
    if (!m) return "";
    const pick = (h, w) => m.accuracy.find((s) => s.horizon === h && s.window === w && s.mase !== null);
    const a = pick("1h", "24h") || pick("1h", "7d") || m.accuracy.find((s) => s.mase !== null);
    let t = a ? "; online MASE " + a.mase.toFixed(2) + " at " + a.horizon + " over " + a.window +
      ", coverage " + (a.coverage_ratio * 100).toFixed(0) + " %" : "; online accuracy: nothing scored yet";
    if (m.challenger) t += "; challenger " + m.challenger;
    if (m.promotions) t += ", " + m.promotions + " promotion" + (m.promotions > 1 ? "s" : "");
    if (m.last_drift_timestamp_seconds) t += "; drift detected " + new Date(m.last_drift_timestamp_seconds * 1000).toLocaleString();
    return t;
  }

  async function drawSelected() {
    if (!selected) return;
    const key = encodeURIComponent(selected);
    try {
      const [fc, raw, ds] = await Promise.all([
        getJSON("/api/v1/forecast?series=" + key),
        getJSON("/api/v1/history?series=" + key + "&tier=raw").catch(() => null),
        getJSON("/api/v1/history?series=" + key + "&tier=downsampled").catch(() => null),
      ]);
      drawChart(fc.data, raw && raw.data, ds && ds.data);
      document.body.dataset.chart = "drawn";
    } catch (e) {
      $("chart-info").textContent = "No chart: " + e.message;
    }
  }

  async function refresh() {
    try {
      const [series, status] = await Promise.all([getJSON("/api/v1/series"), getJSON("/api/v1/status")]);
      allSeries = series.data.slice().sort((a, b) => seriesLabel(a).localeCompare(seriesLabel(b)));
      if (!selected && allSeries.length) {
        const res = series.data.filter((s) => s.resource)
          .sort((a, b) => (a.time_to_exhaustion_seconds ?? Infinity) - (b.time_to_exhaustion_seconds ?? Infinity));
        selected = (res[0] || allSeries[0]).series;
      }
      lastSeries = series.data;
      renderResources(series.data);
      renderWarmup(series);
      renderHealth(status.data);
      syncPick();
      const soon = series.data.filter((s) => s.resource && s.time_to_exhaustion_seconds !== null);
      $("summary").textContent = series.data.length + " series forecast" +
        (series.warming_up.length ? ", " + series.warming_up.length + " warming up" : "") +
        (soon.length ? "; " + soon.length + " resource(s) predicted to run out within the horizon" : "; nothing predicted to run out within the horizon");
      await drawSelected();
      $("refreshed").textContent = "Last refresh " + new Date().toLocaleTimeString() + ".";
    } catch (e) {
      $("summary").textContent = "Cannot reach the agent's API: " + e.message;
    }
    if (firstRender) {
      firstRender = false;
      document.body.dataset.renderMs = performance.now().toFixed(1);
      document.body.dataset.loaded = "yes";
    }
  }

  $("more").addEventListener("click", () => { showAll = !showAll; renderResources(lastSeries); });
  $("search").addEventListener("input", () => { syncPick(); drawSelected(); });
  $("pick").addEventListener("change", (e) => { selected = e.target.value; drawSelected(); });
  window.addEventListener("resize", () => drawSelected());
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
