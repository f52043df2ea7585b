// Refreshes the dashboard's panels from /api/city/status/ every few seconds. The page
// is rendered by the server first (templates/dashboard/index.html); this draws the same
// markup from the JSON, with text nodes only, so no value is ever read as HTML.
"use strict";

const NONE = "—";

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  element.append(...children.flat());
  return element;
}

const perSecond = (value) => (value === null ? NONE : value.toFixed(1));
const percent = (value) => (value === null ? NONE : `${(value * 100).toFixed(1)} %`);

function duration(seconds) {
  if (seconds === null) return NONE;
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60]]) {
    if (seconds >= size) return `${Math.floor(seconds / size)} ${unit}`;
  }
  return `${seconds} s`;
}

function unavailable(panel) {
  return [h("p", { class: "unavailable" }, "Unavailable"), h("p", { class: "reason" }, panel.reason)];
}

function table(headings, rows) {
  const head = headings.map(([text, cls]) => h("th", cls ? { class: cls } : {}, text));
  return h("table", {}, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}

function replica(r) {
  const title = `${r.address} ${r.check}, for ${duration(r.since_seconds)}`;
  return h(
    "span",
    { class: `replica ${r.healthy ? "up" : "down"}`, "data-replica": r.name, title },
    `${r.name} `,
    h("em", {}, r.status),
  );
}

function services(panel) {
  const rows = panel.services.map((s) =>
    h(
      "tr",
      { "data-service": s.name },
      h("td", {}, s.name),
      h("td", {}, s.installed ? "installed" : "elsewhere"),
      h("td", {}, s.replicas.length ? s.replicas.map(replica) : h("span", { class: "muted" }, "none seen")),
      h("td", { class: "number" }, perSecond(s.requests_per_second)),
      h("td", { class: "number" }, percent(s.error_rate)),
    ),
  );
  const counter = panel.source === "haproxy" ? "HAProxy" : "this process";
  return [
    table([["Service"], ["Here"], ["Replicas"], ["Requests/s", "number"], ["Errors", "number"]], rows),
    h("p", { class: "note" }, `Over the last ${panel.window_seconds ?? NONE} s, counted by ${counter}.`),
  ];
}

function queues(panel) {
  if (panel.mode === "in-process") {
    return [h("p", { class: "note" }, "No broker: tasks run in the process that sends them.")];
  }
  const rows = panel.queues.map((q) =>
    h(
      "tr",
      { "data-queue": q.name },
      h("td", {}, q.name),
      h("td", { class: "number" }, String(q.depth)),
      h("td", { class: "number" }, String(q.consumers)),
    ),
  );
  const workers = panel.workers.length
    ? panel.workers.map((w) =>
        h("li", { "data-worker": w.name }, `${w.name} `, h("span", { class: "muted" }, w.queues.join(", "))),
      )
    : [h("li", { class: "muted" }, "none answered")];
  return [
    table([["Queue"], ["Waiting", "number"], ["Workers", "number"]], rows),
    h("h3", {}, "Live workers"),
    h("ul", { class: "workers" }, workers),
  ];
}

function documents(panel) {
  const counts = Object.entries(panel.counts).map(([name, count]) =>
    h("div", { "data-count": name }, h("dt", {}, name), h("dd", {}, String(count))),
  );
  return [h("dl", { class: "counts" }, counts), h("p", { class: "note" }, `${panel.total} in all.`)];
}

function outbox(panel) {
  const waiting = panel.pending
    ? `${panel.pending} event${panel.pending === 1 ? "" : "s"} between services waiting to be sent, the oldest for ${duration(panel.oldest_seconds)}.`
    : "Every event between services has been sent.";
  const dead = panel.dead_lettered
    ? [
        h(
          "p",
          { class: "outbox dead", "data-dead-lettered": String(panel.dead_lettered) },
          `${panel.dead_lettered} event${panel.dead_lettered === 1 ? "" : "s"} given up on: sent again and again, never run (dead-lettered; see the relay's log).`,
        ),
      ]
    : [];
  return [
    h("p", { class: "outbox", "data-pending": String(panel.pending) }, waiting),
    h("p", { class: "outbox", "data-undelivered": String(panel.undelivered) }, `${panel.undelivered} sent, not yet run by a worker.`),
    ...dead,
    h("p", { class: "note" }, "The relay sends what the broker could not take at once, and again what no worker ran."),
  ];
}

function processes(panel) {
  if (!panel.supervised) {
    return [
      h("p", { class: "note" }, "The orchestrator (compose, Kubernetes) restarts this deployment's processes and counts their restarts."),
    ];
  }
  const rows = panel.processes.map((p) =>
    h(
      "tr",
      { "data-process": p.name, class: p.state },
      h("td", {}, p.name),
      h("td", {}, p.state),
      h("td", { class: "number" }, String(p.restarts)),
      h("td", {}, p.last_exit ?? NONE),
      h("td", { class: "number" }, `${duration(p.since_seconds)} ago`),
    ),
  );
  return [table([["Process"], ["State"], ["Restarts", "number"], ["Last exit"], ["Started", "number"]], rows)];
}

const PANELS = { services, queues, documents, outbox, processes };

function draw(status) {
  for (const [name, render] of Object.entries(PANELS)) {
    const panel = status[name];
    const section = document.querySelector(`[data-panel="${name}"]`);
    section.dataset.available = String(panel.available);
    section.querySelector(".body").replaceChildren(...(panel.available ? render(panel) : unavailable(panel)));
  }
  document.getElementById("instance").textContent = status.deployment.instance;
  document.getElementById("installed").textContent = status.deployment.services.join(", ");
  const updated = document.getElementById("updated");
  updated.textContent = `Updated ${new Date(status.generated_at).toLocaleTimeString()}`;
  updated.classList.remove("stale");
}

const REFRESH_TIMEOUT_MS = 8000; // a status that takes longer is given up, and asked again

async function refresh() {
  const updated = document.getElementById("updated");
  try {
    const response = await fetch(document.body.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(REFRESH_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`the status answered ${response.status}`);
    draw(await response.json());
    updated.dataset.lastGood = new Date().toLocaleTimeString();
  } catch (error) {
    // The page keeps the last figures it had, and says they are getting old.
    updated.textContent = `Not updated since ${updated.dataset.lastGood ?? "the page loaded"}: ${error.message}`;
    updated.classList.add("stale");
  }
}

// The next refresh is planned when one is done: a slow answer never overlaps the next,
// and an older answer never replaces a newer one.
async function keepRefreshing(seconds) {
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  await refresh();
  keepRefreshing(seconds);
}

document.addEventListener("DOMContentLoaded", () => {
  keepRefreshing(Number(document.body.dataset.refreshSeconds));
});
