// Inside the embedded sign-up: tell the page around the frame how tall the content is, so
// patron-embed.js can size the frame without scroll bars. Only a height is sent, never data.
(() => {
  if (window.parent === window) {
    return;
  }
  const send = () => {
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    window.parent.postMessage({ type: "patron-embed-height", height }, "*");
  };
  new ResizeObserver(send).observe(document.documentElement);
  window.addEventListener("load", send);
})();
