// A one-click survey answer counts once a person has seen it: when the thank-you page has been
// open and visible for a few seconds, this posts back to confirm it (docs/surveys.md). The server
// checks the time again, so posting early confirms nothing.
(() => {
  const status = document.querySelector("[data-survey-dwell]");
  const form = document.querySelector("form[data-survey-dwell-form]");
  if (!status || !form) return;
  const seconds = Number(status.dataset.surveyDwell) || 3;
  let timer = null;

  const confirm = async () => {
    const response = await fetch(form.action || window.location.href, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" },
    });
    if (!response.ok) return;
    const answer = await response.json();
    if (answer.confirmed) status.textContent = status.dataset.confirmedText;
  };
  // Counts only while the page is visible: a tab opened in the background is not a person reading.
  const start = () => {
    if (document.visibilityState !== "visible" || timer !== null) return;
    timer = window.setTimeout(confirm, (seconds + 0.5) * 1000);
  };
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState !== "visible" && timer !== null) {
      window.clearTimeout(timer);
      timer = null;
    }
    start();
  });
  start();
})();
