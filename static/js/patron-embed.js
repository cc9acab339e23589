// Patron's sign-up on a shop's own web site (docs/onboarding.md). Put this where the form goes:
//   <div data-patron-join data-store="main-street"></div>
//   <script src="https://loyalty.example.com/static/js/patron-embed.js" async></script>
// It puts the sign-up in a frame and keeps the frame as tall as the form. The shop's site must
// be listed in Patron's EMBED_ALLOWED_ORIGINS, or the browser refuses to show the frame.
(() => {
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const frames = [];
  document.querySelectorAll("[data-patron-join]").forEach((place) => {
    const url = new URL("/join/embed/", origin);
    if (place.dataset.store) {
      url.searchParams.set("store", place.dataset.store);
    }
    if (place.dataset.lang) {
      url.searchParams.set("lang", place.dataset.lang);
    }
    const frame = document.createElement("iframe");
    frame.src = url.href;
    frame.title = place.dataset.title || "Sign up";
    frame.loading = "lazy";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.height = "640px";
    place.replaceChildren(frame);
    frames.push(frame);
  });
  window.addEventListener("message", (event) => {
    // Heights come only from Patron's own frames, never from another site's.
    if (event.origin !== origin || !event.data || event.data.type !== "patron-embed-height") {
      return;
    }
    const frame = frames.find((candidate) => candidate.contentWindow === event.source);
    const height = Number(event.data.height);
    if (frame && Number.isFinite(height) && height > 0 && height < 10000) {
      frame.style.height = `${height}px`;
    }
  });
})();
