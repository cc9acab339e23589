// The referral page's copy-link button: shown only where the browser can copy, so that without
// JavaScript the link stays in a plain field to select by hand. No inline script (CSP).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    const field = document.getElementById(button.dataset.copy);
    if (!field || !navigator.clipboard) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      navigator.clipboard.writeText(field.value).then(() => {
        button.textContent = button.dataset.copied;
      });
    });
  });
});
