// SPDX-License-Identifier: MIT
// The draw-a-digit page: strokes go onto a white canvas in black; after
// each change (debounced) the canvas is sent as a PNG to /v1/classify, and
// the answer fills the bars and the 28x28 preview. The server preprocesses
// the drawing the MNIST way, so the page sends it as drawn.
"use strict";

const pad = document.getElementById("pad");
const ctx = pad.getContext("2d");
const answer = document.getElementById("answer");
const digitText = document.getElementById("digit");
const confidenceText = document.getElementById("confidence");
const statusText = document.getElementById("status");
const bars = document.getElementById("bars");
const seen = document.getElementById("seen");
const fileInput = document.getElementById("file");

// Bumped on every change of the drawing, so that a late answer for an
// older drawing is dropped; tests read it from the data attributes.
let version = 0;
let empty = true;
let activePointer = null;
let last = null;
let timer = null;
let pending = null;

const DEBOUNCE_MS = 120;

function resetPad() {
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, pad.width, pad.height);
  ctx.strokeStyle = "#000";
  ctx.fillStyle = "#000";
  // About as thick, relative to the box, as MNIST's pen strokes.
  ctx.lineWidth = pad.width / 14;
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
}

function buildBars() {
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    li.innerHTML = `<span class="label">${d}</span><span class="track"><span class="fill"></span></span><span class="value">–</span>`;
    li.setAttribute("aria-label", `${d}: no answer yet`);
    bars.appendChild(li);
  }
}

function pointAt(event) {
  const rect = pad.getBoundingClientRect();
  return {
    x: (event.clientX - rect.left) * pad.width / rect.width,
    y: (event.clientY - rect.top) * pad.height / rect.height,
  };
}

function changed(delay) {
  version += 1;
  empty = false;
  pad.dataset.version = String(version);
  schedule(delay);
}

function schedule(delay) {
  clearTimeout(timer);
  timer = setTimeout(sendDrawing, delay);
}

pad.addEventListener("pointerdown", (event) => {
  if (event.pointerType === "mouse" && event.button !== 0) return;
  event.preventDefault();
  pad.focus();
  pad.setPointerCapture(event.pointerId);
  activePointer = event.pointerId;
  last = pointAt(event);
  ctx.beginPath();
  ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
  changed(DEBOUNCE_MS);
});

pad.addEventListener("pointermove", (event) => {
  if (event.pointerId !== activePointer) return;
  event.preventDefault();
  // Coalesced events keep fast strokes smooth where the browser has them.
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
  for (const e of events.length ? events : [event]) {
    const p = pointAt(e);
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  }
  changed(DEBOUNCE_MS);
});

function endStroke(event) {
  if (event.pointerId !== activePointer) return;
  activePointer = null;
  schedule(0);
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

function sendDrawing() {
  if (empty) return;
  const v = version;
  pad.toBlob((blob) => { if (blob) classify(blob, "image/png", v); }, "image/png");
}

async function classify(body, type, v) {
  if (pending) pending.abort();
  pending = new AbortController();
  statusText.textContent = "Asking the model…";
  statusText.classList.remove("error");
  try {
    const response = await fetch("/v1/classify?top=3", {
      method: "POST", headers: { "Content-Type": type }, body, signal: pending.signal,
    });
    const result = await response.json();
    if (v !== version) return;  // the drawing changed meanwhile
    if (!response.ok) throw new Error(result.error ? result.error.message : `HTTP ${response.status}`);
    show(result, v);
    statusText.textContent = "";
  } catch (error) {
    if (error.name === "AbortError" || v !== version) return;
    statusText.textContent = `Could not classify: ${error.message}`;
    statusText.classList.add("error");
    answer.dataset.version = String(v);
    answer.dataset.digit = "";
  }
}

function percent(p) {
  return `${(p * 100).toFixed(1)}%`;
}

function show(result, v) {
  digitText.textContent = result.unsure ? "?" : String(result.digit);
  confidenceText.textContent = `${percent(result.confidence)} sure`;
  result.probabilities.forEach((p, d) => {
    const li = bars.children[d];
    li.querySelector(".fill").style.width = `${(p * 100).toFixed(1)}%`;
    li.querySelector(".value").textContent = percent(p);
    li.classList.toggle("best", d === result.digit);
    li.setAttribute("aria-label", `${d}: ${percent(p)}`);
  });
  showInput(result.input);
  answer.dataset.digit = String(result.digit);
  answer.dataset.version = String(v);
}

function showInput(rows) {
  const image = seen.getContext("2d").createImageData(28, 28);
  rows.forEach((row, y) => row.forEach((value, x) => {
    const i = (y * 28 + x) * 4;
    image.data[i] = image.data[i + 1] = image.data[i + 2] = value;
    image.data[i + 3] = 255;
  }));
  seen.getContext("2d").putImageData(image, 0, 0);
  seen.setAttribute("aria-label", "The 28 by 28 pixel image the model read, white ink on black");
}

function clearAll() {
  clearTimeout(timer);
  if (pending) pending.abort();
  resetPad();
  version += 1;
  empty = true;
  pad.dataset.version = String(version);
  answer.dataset.version = String(version);
  answer.dataset.digit = "";
  digitText.textContent = "–";
  confidenceText.textContent = "draw a digit";
  statusText.textContent = "";
  for (const li of bars.children) {
    li.querySelector(".fill").style.width = "0";
    li.querySelector(".value").textContent = "–";
    li.classList.remove("best");
  }
  seen.getContext("2d").clearRect(0, 0, 28, 28);
}

// A photo is shown in the box and sent as it is: the server crops,
// scales and centres it, which works better than resampling it here.
async function usePhoto(file) {
  if (!file) return;
  const type = file.type === "image/jpeg" || /\.jpe?g$/i.test(file.name) ? "image/jpeg" : "image/png";
  clearAll();
  try {
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(pad.width / bitmap.width, pad.height / bitmap.height);
    const w = bitmap.width * scale, h = bitmap.height * scale;
    ctx.drawImage(bitmap, (pad.width - w) / 2, (pad.height - h) / 2, w, h);
  } catch (error) {
    // Not previewable here; the server still gets to judge it.
  }
  version += 1;
  empty = false;
  pad.dataset.version = String(version);
  classify(file, type, version);
}

document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("choose").addEventListener("click", () => fileInput.click());
fileInput.addEventListener("change", () => { usePhoto(fileInput.files[0]); fileInput.value = ""; });
pad.addEventListener("keydown", (event) => {
  if (event.key === "Escape" || event.key === "Delete" || event.key === "Backspace") {
    event.preventDefault();
    clearAll();
  }
});
pad.addEventListener("dragover", (event) => { event.preventDefault(); pad.classList.add("dragging"); });
pad.addEventListener("dragleave", () => pad.classList.remove("dragging"));
pad.addEventListener("drop", (event) => {
  event.preventDefault();
  pad.classList.remove("dragging");
  usePhoto(event.dataTransfer.files[0]);
});
// A photo dropped next to the box should not replace the page.
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => event.preventDefault());

buildBars();
resetPad();
