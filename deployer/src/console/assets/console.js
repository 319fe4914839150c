// The console's one script: refreshes a running execution's timeline, asks before an
// action where the page says so, and moves between a timeline's bars with the arrow keys.
// Requests go to the page's own origin only.
"use strict";

function refresh(box) {
  if (box.dataset.running !== "true") return;
  setTimeout(async () => {
    try {
      const res = await fetch(box.dataset.src, { headers: { accept: "text/html" } });
      if (res.ok) {
        const tmp = document.createElement("div");
        tmp.innerHTML = await res.text();
        const next = tmp.querySelector(".timeline");
        if (next) {
          box.replaceWith(next);
          refresh(next);
          return;
        }
      }
    } catch (e) {
      // The server went away: try again later.
    }
    refresh(box);
  }, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".timeline").forEach(refresh);
});

document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});

document.addEventListener("keydown", (event) => {
  const seg = event.target.closest && event.target.closest(".seg");
  if (!seg || !["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(event.key)) return;
  const all = Array.from(seg.closest(".timeline").querySelectorAll(".seg"));
  const at = all.indexOf(seg);
  const step = event.key === "ArrowLeft" || event.key === "ArrowUp" ? -1 : 1;
  const next = all[at + step];
  if (next) {
    next.focus();
    event.preventDefault();
  }
});
