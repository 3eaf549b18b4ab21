"use strict";
// enigma dashboard: plain JS, no dependencies. The key lives in sessionStorage and goes out
// only as a bearer header to this server; a 401 anywhere brings back the sign-in form.
(function () {
  const KEY = "enigma-api-key";
  const $ = (id) => document.getElementById(id);
  const timers = [];
  let intents = [];
  let labels = [];

  class Unauthorized extends Error {}

  function headers(extra) {
    const h = Object.assign({}, extra || {});
    const key = sessionStorage.getItem(KEY);
    if (key) h.Authorization = "Bearer " + key;
    return h;
  }

  async function api(path, options) {
    const opts = Object.assign({}, options || {});
    opts.headers = headers(opts.body ? { "Content-Type": "application/json" } : {});
    const res = await fetch(path, opts);
    if (res.status === 401) throw new Unauthorized();
    const body = await res.json();
    if (!res.ok) throw new Error((body.error && body.error.message) || res.statusText);
    return body;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c === null || c === undefined ? "" : c);
    return node;
  }

  function mb(bytes) {
    return bytes === null || bytes === undefined ? "—" : (bytes / 1048576).toFixed(1) + " MB";
  }

  function showLogin(message) {
    timers.splice(0).forEach(clearInterval);
    $("main").hidden = true;
    $("logout").hidden = true;
    $("login").hidden = false;
    $("login-error").textContent = message || "";
    $("key").focus();
  }

  function guard(fn) {
    return async (...args) => {
      try {
        await fn(...args);
      } catch (err) {
        if (err instanceof Unauthorized) {
          showLogin(sessionStorage.getItem(KEY) ? "Wrong API key." : "");
        } else {
          console.error(err);
        }
      }
    };
  }

  // -- modules ------------------------------------------------------------------------------
  const refreshModules = guard(async () => {
    const data = await api("/v1/dashboard/modules");
    intents = [];
    labels = data.labels || [];
    const body = $("modules").tBodies[0];
    body.replaceChildren();
    for (const t of data.tasks) {
      intents.push(...t.intents);
      const action = t.loaded ? "Unload" : "Load";
      const button = el("button", {
        type: "button", class: t.loaded ? "secondary" : "",
        "aria-label": action + " " + t.task, onclick: () => toggle(t.task, !t.loaded, button),
      }, action);
      const status = t.status === "ok" ? el("span", { class: "ok" }, "ok")
        : el("span", { class: "error", title: t.error || "" }, t.status + ": " + (t.error || ""));
      body.append(el("tr", { "data-task": t.task },
        el("th", { scope: "row" }, t.task),
        el("td", {}, (t.plugin || "—") + (t.distribution ? " (" + t.distribution + ")" : "")),
        el("td", {}, t.version || "—"), el("td", {}, status),
        el("td", { class: "state" }, t.loaded ? "loaded" : "not loaded"),
        el("td", {}, mb(t.memory_bytes)), el("td", {}, button)));
    }
    const broken = data.plugins.filter((p) => p.status !== "ok");
    $("plugins-line").textContent = data.plugins.length + " plugins" +
      (broken.length ? "; failing: " + broken.map((p) => p.name + " (" + p.error + ")").join(", ") : "") +
      " · worker " + data.worker_pid + " uses " + mb(data.process_rss_bytes);
    showRouter(data.router);
    const select = $("f-intent");
    const current = select.value;
    select.replaceChildren(el("option", { value: "" }, "any"),
      ...[...new Set(intents)].map((i) => el("option", {}, i)));
    select.value = current;
  });

  async function toggle(task, load, button) {
    button.disabled = true;
    await guard(async () => {
      await api("/v1/dashboard/modules/" + encodeURIComponent(task) + (load ? "/load" : "/unload"),
        { method: "POST" });
    })();
    await refreshModules();
    const again = document.querySelector('#modules tr[data-task="' + CSS.escape(task) + '"] button');
    if (again) again.focus();
  }

  function showRouter(router) {
    const stale = $("stale");
    if (!router.model) {
      stale.className = "muted";
      stale.textContent = "No router model: requests are routed by keywords.";
    } else if (router.stale) {
      stale.className = "warn";
      stale.textContent = "Router is stale: it does not know " +
        (router.unknown_intents.join(", ") || "—") +
        (router.extra_labels.length ? "; knows uninstalled " + router.extra_labels.join(", ") : "") +
        ". Retrain it.";
    } else {
      stale.className = "ok";
      stale.textContent = "Router is up to date with the installed intents.";
    }
    $("router-line").textContent = router.model ? "Router task: " + router.task : "";
  }

  // -- try a request ------------------------------------------------------------------------
  function readImage(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  function showDecision(d) {
    $("try-intent").textContent = d.intent;
    $("try-via").textContent = d.via;
    $("try-task").textContent = d.task || "none";
    const c = Math.max(0, Math.min(1, Number(d.confidence)));
    $("try-conf").querySelector("span").style.width = (c * 100).toFixed(1) + "%";
    $("try-conf").querySelector("em").textContent = c.toFixed(2);
    $("try-conf").setAttribute("aria-valuenow", c.toFixed(2));
  }

  function alts(list) {
    return (list || []).map((a) => Array.isArray(a) ? a[0] + " " + Number(a[1]).toFixed(2)
      : a.intent + " " + Number(a.confidence).toFixed(2)).join(", ") || "—";
  }

  const tryRequest = guard(async (event) => {
    event.preventDefault();
    const text = $("try-text").value.trim();
    if (!text) return;
    const go = $("try-go");
    go.disabled = true;
    $("try-result").hidden = false;
    for (const id of ["try-intent", "try-via", "try-task", "try-alts", "try-timings",
      "try-answer", "try-error"]) $(id).textContent = "";
    let content = text;
    const file = $("try-image").files[0];
    if (file) {
      content = [{ type: "text", text: text },
        { type: "image_url", image_url: { url: await readImage(file) } }];
    }
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST", headers: headers({ "Content-Type": "application/json" }),
        body: JSON.stringify({ model: "enigma", stream: true,
          messages: [{ role: "user", content: content }] }),
      });
      if (res.status === 401) throw new Unauthorized();
      if (!res.ok) {
        const body = await res.json();
        throw new Error((body.error && body.error.message) || res.statusText);
      }
      showDecision({ intent: res.headers.get("x-enigma-intent"),
        via: res.headers.get("x-enigma-via"), task: res.headers.get("x-enigma-task"),
        confidence: res.headers.get("x-enigma-confidence") });
      await readStream(res);
    } catch (err) {
      if (err instanceof Unauthorized) throw err;
      $("try-error").textContent = String(err.message || err);
    } finally {
      go.disabled = false;
      refreshDecisions();
    }
  });

  async function readStream(res) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of event.split("\n")) {
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") return;
          handleChunk(JSON.parse(data));
        }
      }
    }
  }

  function handleChunk(chunk) {
    if (chunk.error) {
      $("try-error").textContent = chunk.error.message || "error";
      return;
    }
    for (const choice of chunk.choices || []) {
      if (choice.delta && choice.delta.content) $("try-answer").textContent += choice.delta.content;
    }
    if (chunk.enigma) {
      const e = chunk.enigma;
      showDecision(e);
      $("try-alts").textContent = alts(e.alternatives);
      $("try-timings").textContent = Object.entries(e.timings_ms || {})
        .map(([k, v]) => k + " " + Number(v).toFixed(1) + " ms").join(", ");
    }
  }

  // -- live decisions -----------------------------------------------------------------------
  const refreshDecisions = guard(async () => {
    const q = new URLSearchParams({ limit: "200" });
    if ($("f-intent").value) q.set("intent", $("f-intent").value);
    if ($("f-via").value) q.set("via", $("f-via").value);
    if ($("f-below").value !== "") q.set("below", $("f-below").value);
    const data = (await api("/v1/dashboard/decisions?" + q)).data;
    const body = $("decisions").tBodies[0];
    body.replaceChildren(...data.slice(0, 50).map((d) => el("tr", { "data-id": String(d.id) },
      el("td", {}, String(d.id)), el("td", {}, new Date(d.ts * 1000).toLocaleTimeString()),
      el("td", {}, (d.text || "(text not logged)").slice(0, 80)), el("td", {}, d.intent),
      el("td", {}, d.confidence.toFixed(2)), el("td", {}, d.via), el("td", {}, d.task || "—"),
      el("td", {}, ((d.classify_ms || 0) + (d.execute_ms || 0)).toFixed(0)))));
    drawHistogram(data);
    drawPerIntent(data);
  });

  function drawHistogram(rows) {
    const canvas = $("hist");
    const ctx = canvas.getContext("2d");
    const bins = new Array(10).fill(0);
    rows.forEach((d) => bins[Math.min(9, Math.floor(d.confidence * 10))]++);
    const max = Math.max(1, ...bins);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.font = "10px sans-serif";
    const w = canvas.width / 10;
    bins.forEach((n, i) => {
      const h = (n / max) * (canvas.height - 30);
      ctx.fillStyle = i < 5 ? "#b54708" : "#2458c6";
      ctx.fillRect(i * w + 3, canvas.height - 16 - h, w - 6, h);
      ctx.fillStyle = "#1b1f24";
      ctx.fillText(String(n), i * w + 6, canvas.height - 20 - h);
      ctx.fillText((i / 10).toFixed(1), i * w + 4, canvas.height - 4);
    });
    canvas.setAttribute("aria-label", "confidence histogram: " + bins.join(", "));
  }

  function color(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) % 360;
    return "hsl(" + h + ",65%,42%)";
  }

  function drawPerIntent(rows) {
    // Stacked bars: one column per minute of the last 30, one colour per intent.
    const svg = $("per-intent");
    const ns = "http://www.w3.org/2000/svg";
    const node = (tag, attrs) => {
      const n = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
      return n;
    };
    svg.replaceChildren();
    const minutes = 30;
    const now = Math.floor(Date.now() / 60000);
    const counts = {};
    const totals = new Array(minutes).fill(0);
    rows.forEach((d) => {
      const slot = minutes - 1 - (now - Math.floor(d.ts / 60));
      if (slot < 0 || slot >= minutes) return;
      (counts[d.intent] = counts[d.intent] || new Array(minutes).fill(0))[slot]++;
      totals[slot]++;
    });
    const max = Math.max(1, ...totals);
    const width = 300 / minutes;
    const base = new Array(minutes).fill(128);
    let legend = 0;
    for (const [intent, series] of Object.entries(counts)) {
      series.forEach((n, i) => {
        if (!n) return;
        const h = (n / max) * 100;
        base[i] -= h;
        svg.append(node("rect", { x: (10 + i * width).toFixed(1), y: base[i].toFixed(1),
          width: (width - 1).toFixed(1), height: h.toFixed(1), fill: color(intent) }));
      });
      const label = node("text", { x: 12 + (legend % 4) * 76, y: 12 + Math.floor(legend / 4) * 11,
        "font-size": 10, fill: color(intent) });
      label.textContent = intent + " " + series.reduce((a, b) => a + b, 0);
      svg.append(label);
      legend++;
    }
    svg.append(node("line", { x1: 10, y1: 128.5, x2: 310, y2: 128.5, stroke: "#9aa4b0" }));
    const axis = node("text", { x: 10, y: 139, "font-size": 9, fill: "#5b6570" });
    axis.textContent = "30 min ago";
    const nowLabel = node("text", { x: 290, y: 139, "font-size": 9, fill: "#5b6570" });
    nowLabel.textContent = "now";
    svg.append(axis, nowLabel);
  }

  // -- router health ------------------------------------------------------------------------
  const refreshReview = guard(async () => {
    const data = (await api("/v1/dashboard/decisions?review=1&limit=20")).data;
    const list = $("review");
    if (!data.length) {
      list.replaceChildren(el("li", { class: "muted" }, "Nothing to review."));
      return;
    }
    const choices = labels.length ? labels : [...new Set(intents)];
    list.replaceChildren(...data.map((d) => el("li", { "data-id": String(d.id) },
      el("span", {}, "#" + d.id + " “" + (d.text || "(text not logged)").slice(0, 100) + "” → " +
        d.intent + " (" + d.review + ") "),
      ...choices.map((i) => el("button", { type: "button", class: "secondary",
        "aria-label": "label #" + d.id + " as " + i,
        onclick: guard(async () => {
          await api("/v1/dashboard/label", { method: "POST",
            body: JSON.stringify({ id: d.id, intent: i }) });
          refreshReview();
        }) }, i)))));
  });

  let retrainTimer = null;
  const refreshRetrain = guard(async (start) => {
    const job = await api("/v1/dashboard/retrain", start ? { method: "POST" } : {});
    const log = $("retrain-log");
    log.hidden = job.lines.length === 0;
    log.textContent = job.lines.join("\n");
    log.scrollTop = log.scrollHeight;
    $("retrain-status").textContent = {
      idle: "", running: "training…", done: "done: new router promoted",
      failed: "failed: " + job.error }[job.status];
    $("retrain").disabled = job.status === "running";
    if (job.status === "running" && retrainTimer === null) {
      retrainTimer = setInterval(() => refreshRetrain(false), 1000);
      timers.push(retrainTimer);
    } else if (job.status !== "running" && retrainTimer !== null) {
      clearInterval(retrainTimer);
      retrainTimer = null;
      refreshModules();
    }
  });

  // -- start --------------------------------------------------------------------------------
  async function start() {
    try {
      await api("/v1/dashboard/modules");
    } catch (err) {
      if (err instanceof Unauthorized) {
        showLogin(sessionStorage.getItem(KEY) ? "Wrong API key." : "");
        return;
      }
    }
    $("login").hidden = true;
    $("main").hidden = false;
    $("logout").hidden = !sessionStorage.getItem(KEY);
    await refreshModules();
    await Promise.all([refreshDecisions(), refreshReview(), refreshRetrain(false)]);
    timers.push(setInterval(refreshDecisions, 2000), setInterval(refreshModules, 5000),
      setInterval(refreshReview, 10000));
  }

  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value);
    $("key").value = "";
    start();
  });
  $("logout").addEventListener("click", () => { sessionStorage.removeItem(KEY); showLogin(""); });
  $("try-form").addEventListener("submit", tryRequest);
  $("try-text").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("try-form").requestSubmit();
  });
  for (const id of ["f-intent", "f-via", "f-below"]) $(id).addEventListener("change", refreshDecisions);
  $("filters").addEventListener("submit", (e) => { e.preventDefault(); refreshDecisions(); });
  $("retrain").addEventListener("click", () => refreshRetrain(true));
  start();
})();
