// Gavel console: the live parts only. No framework, no build step.
"use strict";

function money(minor) {
  if (minor === null || minor === undefined) return "–";
  const whole = Math.trunc(minor / 100), cents = Math.abs(minor % 100);
  return whole.toLocaleString("en-US") + "." + String(cents).padStart(2, "0");
}

function timeLeft(endsAt, now) {
  const seconds = Math.max(0, Math.floor((endsAt - now) / 1000));
  const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600);
  const m = Math.floor(seconds % 3600 / 60), s = seconds % 60;
  return (d > 0 ? d + "d " : "") + String(h).padStart(2, "0") + ":" + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
}

// The lot board: one event stream for every lot on it; prices move without a reload, the
// countdown ticks, and a lot whose sale is over moves to the results.
function startBoard(board) {
  const status = document.getElementById("board-status");
  const results = document.querySelector("#results tbody");
  const rows = new Map();
  for (const row of board.querySelectorAll("tr[data-lot-id]")) rows.set(row.dataset.lotId, row);
  const tick = () => {
    const now = Date.now();
    for (const time of board.querySelectorAll("time[data-field=endsAt]")) {
      time.textContent = timeLeft(new Date(time.getAttribute("datetime")).getTime(), now);
    }
  };
  tick();
  setInterval(tick, 1000);
  const source = new EventSource("/v1/board/events");
  source.onopen = () => { status.textContent = status.dataset.live; };
  source.onerror = () => { status.textContent = status.dataset.lost; };
  const update = (message) => {
    const lot = JSON.parse(message.data);
    const row = rows.get(lot.lotId);
    if (!row) return;
    row.querySelector("[data-field=price]").textContent = money(lot.currentPrice);
    row.querySelector("[data-field=bidCount]").textContent = String(lot.bidCount);
    row.querySelector("[data-field=reserveMet]").textContent = lot.reserveMet ? "✓" : "–";
    const time = row.querySelector("[data-field=endsAt]");
    if (time) time.setAttribute("datetime", lot.endsAt);
    if (message.type === "closed" && lot.status !== "pending-approval") {
      const cell = time ? time.parentElement : null;
      if (cell) cell.textContent = lot.status;
      results.appendChild(row);
      rows.delete(lot.lotId);
    }
  };
  for (const kind of ["price", "extended", "closed"]) source.addEventListener(kind, update);
}

// One lot's page: its price, bids, reserve met, next minimum and end follow the lot's
// own event stream; a bidder's form keeps what was typed.
function startLot(panel) {
  const status = document.getElementById("lot-status");
  const field = (name) => panel.querySelector("[data-field=" + name + "]");
  const tick = () => {
    const time = field("endsAt");
    if (time) time.textContent = timeLeft(new Date(time.getAttribute("datetime")).getTime(), Date.now());
  };
  tick();
  setInterval(tick, 1000);
  if (!status || !status.textContent.trim()) return;
  const source = new EventSource("/v1/lots/" + encodeURIComponent(panel.dataset.lotId) + "/events");
  source.onopen = () => { status.textContent = status.dataset.live; };
  source.onerror = () => { status.textContent = status.dataset.lost; };
  const update = (message) => {
    const lot = JSON.parse(message.data);
    field("price").textContent = money(lot.currentPrice);
    field("bidCount").textContent = String(lot.bidCount);
    field("reserveMet").textContent = lot.reserveMet ? "✓" : "–";
    if (lot.minimumNextBid !== undefined && field("minimumNextBid")) field("minimumNextBid").textContent = money(lot.minimumNextBid);
    if (lot.endsAt) field("endsAt").setAttribute("datetime", lot.endsAt);
    if (message.type === "closed") { status.textContent = lot.status; source.close(); }
  };
  for (const kind of ["price", "extended", "closed"]) source.addEventListener(kind, update);
}

document.addEventListener("DOMContentLoaded", () => {
  // Times are sent in UTC; show them in the reader's own time zone as well.
  for (const time of document.querySelectorAll("time[datetime]")) {
    const at = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) time.title = at.toLocaleString();
  }
  const board = document.getElementById("board");
  if (board) startBoard(board);
  const lot = document.getElementById("lot-live");
  if (lot) startLot(lot);
});
