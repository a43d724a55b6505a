"use strict";
const $ = (id) => document.getElementById(id);
const LOG = __LOG__;
const state = { log: [], chart: null, ended: false, finished: false };
window.emonbPreview = state;
let classes = __CLASSES__;
let rows = [];

function status(kind, text) {
  const s = $("status");
  if (s.dataset.state === "ended" && kind !== "ended") return;
  s.dataset.state = kind;
  s.textContent = text;
}

function buildBars(names) {
  classes = names;
  $("bars").replaceChildren();
  rows = names.map((name) => {
    const row = document.createElement("div");
    row.className = "row";
    row.dataset.name = name;
    row.innerHTML = '<span class="name"></span><span class="bar"><span class="p"></span>' +
                    '<span class="s"></span></span><span class="value"></span>';
    row.querySelector(".name").textContent = name;
    $("bars").appendChild(row);
    return row;
  });
  drawBars(names.map(() => 0), names.map(() => 0), null);
}

function drawBars(proba, smoothed, lead) {
  rows.forEach((row, k) => {
    row.dataset.proba = proba[k];
    row.dataset.smoothed = smoothed[k];
    row.querySelector(".p").style.width = (100 * proba[k]).toFixed(1) + "%";
    row.querySelector(".s").style.left = `calc(${(100 * smoothed[k]).toFixed(1)}% - 1px)`;
    row.querySelector(".value").textContent = proba[k].toFixed(2);
    row.classList.toggle("lead", classes[k] === lead);
  });
}

function showChart(m) {
  if (m.class_names.join() !== classes.join()) buildBars(m.class_names);
  const area = (f) => f.box[2] * f.box[3];
  const main = m.faces.reduce((a, f) => (a === null || area(f) > area(a) ? f : a), null);
  $("chart").dataset.index = m.index;
  if (main === null) {
    drawBars(classes.map(() => 0), classes.map(() => 0), null);
    $("emotion").textContent = "no face";
  } else {
    drawBars(main.proba, main.smoothed, main.emotion);
    $("emotion").textContent = main.emotion;
  }
  $("faces").textContent = `${m.faces.length} face${m.faces.length === 1 ? "" : "s"}`;
  state.chart = { index: m.index, proba: main && main.proba, smoothed: main && main.smoothed,
                  emotion: main && main.emotion, faces: m.faces.length };
}

function ended() {
  state.ended = true;
  status("ended", "stream ended (the last frame stays)");
}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function frames() {
  const canvas = $("frame");
  const ctx = canvas.getContext("2d");
  let seq = 0;
  for (;;) {  // until the server says there is no newer frame and will be none
    try {
      const r = await fetch(`/frame.jpg?after=${seq}`, { cache: "no-store" });
      if (r.status === 204) {
        if (!r.headers.get("X-Stream-Ended")) continue;
        state.finished = true;  // the last frame is shown
        return ended();
      }
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      const bitmap = await createImageBitmap(await r.blob());
      if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
        canvas.width = bitmap.width;
        canvas.height = bitmap.height;
      }
      ctx.drawImage(bitmap, 0, 0);
      bitmap.close();
      const shown = Date.now();
      seq = Number(r.headers.get("X-Frame-Seq"));
      const index = Number(r.headers.get("X-Frame-Index"));
      const time = (name) => 1000 * Number(r.headers.get(`X-Frame-${name}`));
      const captured = time("Captured");
      Object.assign(canvas.dataset, { index, captured, shown });
      state.log.push({ index, captured, published: time("Published"), sent: time("Sent"),
                       shown });
      if (state.log.length > LOG) state.log.shift();
      $("index").textContent = index;
      $("latency").textContent = `${Math.round(shown - captured)} ms`;
      status("live", "live");
    } catch (err) {  // the server is gone (or restarting): try again in a second
      status("disconnected", "disconnected: retrying…");
      await sleep(1000);
    }
  }
}

function events() {
  const source = new EventSource("/events");
  source.onmessage = (e) => showChart(JSON.parse(e.data));
  source.addEventListener("end", () => { source.close(); ended(); });
  source.onerror = () => { if (!state.ended) status("disconnected", "disconnected: retrying…"); };
}

buildBars(classes);
events();
frames();
