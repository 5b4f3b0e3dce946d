// Live updates of the operations page, without a reload and without polling the whole state: it
// listens to the reconciler's event stream (GET /v1/events, Server-Sent Events, authenticated by
// the session cookie) and, for each event, fetches only the fragment of what changed — the rows of
// a node and of the apps it runs after a node's report, the apps a new generation changed after a
// publish — and swaps them in by id, keeping the rows sorted by attention. Bursts of events are
// coalesced into one fetch. Everything else on the page works without this script.
(() => {
  const body = document.body;
  const scope = body.dataset.live || "";
  const indicator = document.getElementById("live");
  const pending = { nodes: new Set(), generation: null, summary: false, full: false };
  let timer = null;
  let busy = false;
  let down = false;
  let updates = 0;

  function show(state, text) {
    if (!indicator) return;
    indicator.dataset.state = state;
    indicator.textContent = text;
  }

  function hasPending() {
    return pending.full || pending.summary || pending.generation !== null || pending.nodes.size > 0;
  }

  function schedule() {
    if (timer === null) timer = setTimeout(flush, 50);
  }

  function fragmentUrl() {
    if (scope === "overview") {
      const params = new URLSearchParams(location.search);
      if (pending.full) params.set("full", "1");
      if (pending.nodes.size > 0) params.set("nodes", [...pending.nodes].join(","));
      if (pending.generation !== null) params.set("generation", String(pending.generation));
      return `/ui/fragments/overview?${params}`;
    }
    if (scope.startsWith("app:")) return `/ui/fragments/app/${encodeURIComponent(scope.slice(4))}`;
    if (scope.startsWith("node:")) return `/ui/fragments/node/${encodeURIComponent(scope.slice(5))}`;
    if (scope === "history" && !new URLSearchParams(location.search).has("before"))
      return "/ui/fragments/history";
    return null;
  }

  async function flush() {
    timer = null;
    if (busy) return;
    const url = fragmentUrl();
    pending.nodes.clear();
    pending.generation = null;
    pending.summary = false;
    pending.full = false;
    if (!url) return;
    busy = true;
    try {
      const res = await fetch(url, { credentials: "same-origin", headers: { accept: "text/html" } });
      if (res.status === 401) return stop("session ended: reload the page to log in again");
      if (res.ok) apply(await res.text());
    } catch {
      // The next event, or the reconnect, fetches again.
    } finally {
      busy = false;
      if (hasPending()) schedule();
    }
  }

  function apply(text) {
    const t = document.createElement("template");
    t.innerHTML = text;
    for (const el of [...t.content.children]) {
      if (el.tagName === "TABLE") {
        for (const tb of el.tBodies) {
          const table = document.getElementById(tb.dataset.for || "");
          if (table) merge(table, [...tb.rows], tb.dataset.replace === "1");
        }
      } else if (el.id) {
        const old = document.getElementById(el.id);
        // A section streaming on its own (the app's logs) keeps its lines, also when a fragment
        // replaces what contains it: the live section moves into the new content.
        if (old && !old.dataset.streaming) {
          const live = old.querySelector("[data-streaming]");
          const fresh = live?.id ? el.querySelector(`#${live.id}`) : null;
          if (live && fresh) fresh.replaceWith(live);
          old.replaceWith(el);
        }
      }
    }
    tick();
    updates++;
    body.dataset.updates = String(updates);
  }

  function merge(table, rows, replace) {
    const tb = table.tBodies[0];
    if (!tb) return;
    if (replace) {
      const keep = new Set(rows.map((r) => r.id));
      for (const r of [...tb.rows]) if (!keep.has(r.id)) r.remove();
    }
    const insert = table.dataset.insert === "1";
    const attentionOnly = table.dataset.attentionOnly === "1";
    for (const row of rows) {
      const old = document.getElementById(row.id);
      if (row.dataset.gone || (attentionOnly && row.dataset.attention === "ok")) {
        if (old) old.remove();
      } else if (old && old.dataset.sort === row.dataset.sort) {
        old.replaceWith(row);
      } else if (old || insert || replace) {
        // Its place in the order changed (or it is new): move just this row, so the browser
        // does not lay out a thousand rows again.
        if (old) old.remove();
        row.classList.add("flash");
        place(tb, row);
      }
    }
  }

  /** Inserts `row` before the first row whose sort key is greater (rows stay sorted). */
  function place(tb, row) {
    const key = row.dataset.sort || "";
    for (const r of tb.rows) {
      if ((r.dataset.sort || "") > key) {
        tb.insertBefore(row, r);
        return;
      }
    }
    tb.appendChild(row);
  }

  function ago(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }

  function tick() {
    const now = Date.now();
    for (const el of document.querySelectorAll("time[data-ago]")) {
      const t = Date.parse(el.getAttribute("datetime") || "");
      if (!Number.isFinite(t)) continue;
      // Only what changed: writing the same text still makes the browser lay the table out again.
      const text = ago(now - t);
      if (el.textContent !== text) el.textContent = text;
    }
  }

  let source = null;
  function stop(text) {
    if (source) source.close();
    show("closed", text);
  }

  function data(ev) {
    try {
      return JSON.parse(ev.data).data || {};
    } catch {
      return {};
    }
  }

  function relevant(node) {
    if (scope.startsWith("node:")) return node === scope.slice(5);
    if (!scope.startsWith("app:")) return true;
    const main = document.getElementById("app-main");
    const nodes = main ? (main.dataset.nodes || "").split(" ") : [];
    return nodes.length === 0 || nodes.includes(node);
  }

  // The app's output (GET /v1/apps/{app}/logs, Server-Sent Events): the last lines, then new ones.
  // Text only (textContent): the lines are the app's, never markup. When the stream breaks or ends
  // (a node that did not answer in time, the reconciler restarting) it is opened again from the
  // time of the last line shown, a few times, without showing a line twice.
  function streamLogs(section) {
    const pre = section.querySelector("pre");
    if (!pre) return;
    section.dataset.streaming = "1";
    let empty = true;
    let lastTime = null;
    let recent = [];
    let retries = 0;
    const add = (text, cls) => {
      if (empty) pre.textContent = "";
      empty = false;
      const span = document.createElement("span");
      span.textContent = `${text}\n`;
      if (cls) span.className = cls;
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.appendChild(span);
      while (pre.childNodes.length > 1000) pre.firstChild.remove();
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    };
    const open = () => {
      const query = lastTime ? `since=${encodeURIComponent(lastTime)}&lines=1000` : "lines=200";
      const logs = new EventSource(`${section.dataset.logs}?follow=1&${query}`);
      let closed = false;
      const again = (why) => {
        if (closed) return;
        closed = true;
        logs.close();
        if (retries >= 5) return add(`-- ${why}: reload the page to start the logs again`, "notice");
        retries++;
        setTimeout(open, 2000 * retries);
      };
      logs.addEventListener("line", (ev) => {
        const l = JSON.parse(ev.data);
        const key = `${l.time} ${l.node} ${l.instance} ${l.line}`;
        if (recent.includes(key)) return;
        recent.push(key);
        if (recent.length > 200) recent = recent.slice(-100);
        lastTime = l.time;
        retries = 0;
        add(
          `${l.time} ${l.node}/${l.instance.replace(/^berth-/, "")}  ${l.line}`,
          l.origin === "berth" ? "berth" : "",
        );
      });
      logs.addEventListener("notice", (ev) => add(`-- ${JSON.parse(ev.data).message}`, "notice"));
      logs.addEventListener("caught-up", () => {
        if (empty) pre.textContent = "no output yet";
      });
      logs.addEventListener("end", () => again("the log stream ended"));
      logs.onerror = () => again("the log stream was interrupted");
    };
    open();
  }
  const logSection = document.querySelector("[data-logs]");
  if (logSection && typeof EventSource !== "undefined") streamLogs(logSection);

  if (!scope || typeof EventSource === "undefined") return;
  const from = body.dataset.eventId ? `?lastEventId=${encodeURIComponent(body.dataset.eventId)}` : "";
  source = new EventSource(`/v1/events${from}`);
  source.onopen = () => {
    show("open", "live");
    if (down) {
      pending.full = true;
      schedule();
    }
    down = false;
  };
  source.onerror = () => {
    down = true;
    if (source.readyState === EventSource.CLOSED)
      stop("live updates stopped: reload the page (log in again if asked)");
    else show("connecting", "reconnecting…");
  };
  for (const type of ["node-reported", "workload-failed", "node-stale", "node-lost", "node-back"]) {
    source.addEventListener(type, (ev) => {
      const d = data(ev);
      if (typeof d.node !== "string" || !relevant(d.node)) return;
      pending.nodes.add(d.node);
      schedule();
    });
  }
  source.addEventListener("published", (ev) => {
    const d = data(ev);
    pending.generation = typeof d.generation === "number" ? d.generation : null;
    pending.summary = true;
    if (pending.generation === null) pending.full = true;
    schedule();
  });
  for (const type of ["detected", "rejected", "unchanged", "degraded", "recovered"]) {
    source.addEventListener(type, () => {
      pending.summary = true;
      schedule();
    });
  }
  source.addEventListener("gap", () => {
    pending.full = true;
    schedule();
  });
  setInterval(tick, 5000);
})();
