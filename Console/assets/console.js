// Gavel console: the live parts only. No framework, no build step.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Times are sent in UTC; show them in the reader's own time zone as well.
  for (const time of document.querySelectorAll("time[datetime]")) {
    const at = new Date(time.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) time.title = at.toLocaleString();
  }
});
