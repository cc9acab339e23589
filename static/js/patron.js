// Small behaviours shared by both front doors. No inline scripts, so a strict CSP can hold.
document.addEventListener("change", (event) => {
  const form = event.target.closest("form[data-autosubmit]");
  if (form) form.requestSubmit();
});
document.addEventListener("submit", (event) => {
  const question = event.target.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
// A form marked data-submit-once sends once: a double tap on "Redeem" must not spend twice.
// (Listeners run in order, so a form whose confirm() was declined above is not marked.)
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.hasAttribute("data-submit-once") || event.defaultPrevented) return;
  if (form.dataset.sent) event.preventDefault();
  else form.dataset.sent = "1";
});
// Coming back with the browser's back button shows the page as it was left; let it send again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sent]").forEach((form) => delete form.dataset.sent);
});
