// The till: read a QR code with the camera of a phone or tablet and hand it over as if it had
// been typed: a member number to the search box, a reward code to the code form. A USB scanner
// needs none of this (it types the number and Enter into the focused search box).
// No inline scripts, so a strict CSP can hold. The QR reader (jsQR, 250 kB) is loaded only when
// the camera is first opened; the page marks <html class="can-scan"> so the button shows only
// where a camera can be used (a secure origin with getUserMedia).
(() => {
  if (!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia)) return;
  document.documentElement.classList.add("can-scan");

  const SCANNER = "dialog[data-till-scanner]";
  let stream = null;
  let frame = null;
  let reader = null;

  function loadReader(src) {
    if (window.jsQR) return Promise.resolve(window.jsQR);
    if (!reader) {
      reader = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.onload = () => resolve(window.jsQR);
        script.onerror = () => {
          reader = null;
          reject(new Error("jsQR did not load"));
        };
        document.head.appendChild(script);
      });
    }
    return reader;
  }

  function stop() {
    if (frame) cancelAnimationFrame(frame);
    frame = null;
    if (stream) stream.getTracks().forEach((track) => track.stop());
    stream = null;
    const dialog = document.querySelector(SCANNER);
    if (dialog && dialog.open) dialog.close();
  }

  function submit(form, field, value) {
    form.querySelector(field).value = value;
    form.requestSubmit();
  }

  // Member cards hold their ten-digit number (perhaps inside a link); reward codes are twelve
  // letters and digits. Anything else goes to the search, which says it found no one.
  function deliver(text) {
    const compact = text.replace(/[\s-]/g, "").toUpperCase();
    const codeForm = document.querySelector("form[data-till-code]");
    if (codeForm && /^[0-9A-Z]{12}$/.test(compact) && !/^\d+$/.test(compact)) {
      submit(codeForm, "input[name='code-code']", compact);
      return;
    }
    const number = /^\d{10}$/.test(compact) ? [null, compact] : text.match(/(?:^|\D)(\d{10})(?:\D|$)/);
    submit(document.querySelector("form[data-till-search]"), "input[name='q']", number ? number[1] : text);
  }

  async function scan(button) {
    const dialog = document.querySelector(SCANNER);
    const video = dialog.querySelector("video");
    const status = dialog.querySelector("[data-till-scanner-status]");
    status.dataset.initial = status.dataset.initial || status.textContent;
    status.textContent = status.dataset.initial;
    dialog.showModal();
    let jsQR;
    try {
      jsQR = await loadReader(button.dataset.jsqr);
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    } catch (error) {
      status.textContent = jsQR ? dialog.dataset.msgDenied : dialog.dataset.msgFailed;
      return;
    }
    if (!dialog.open) {
      stop(); // cancelled while the browser asked for permission
      return;
    }
    video.srcObject = stream;
    await video.play();
    const canvas = document.createElement("canvas");
    const context = canvas.getContext("2d", { willReadFrequently: true });
    const tick = () => {
      if (!stream) return;
      if (video.readyState >= video.HAVE_ENOUGH_DATA && video.videoWidth) {
        // A smaller copy decodes fast enough on a tablet; a card held up at the till is large.
        const scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        context.drawImage(video, 0, 0, canvas.width, canvas.height);
        const image = context.getImageData(0, 0, canvas.width, canvas.height);
        const found = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        if (found && found.data.trim()) {
          stop();
          deliver(found.data.trim());
          return;
        }
      }
      frame = requestAnimationFrame(tick);
    };
    frame = requestAnimationFrame(tick);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-till-scan]");
    if (button) {
      event.preventDefault();
      scan(button);
    } else if (event.target.closest("[data-till-scanner-close]")) {
      stop();
    }
  });
  // Escape closes the dialog without our button: the camera must go off too. ("close" does not
  // bubble, hence the capture phase.)
  document.addEventListener("close", (event) => {
    if (event.target.matches && event.target.matches(SCANNER)) stop();
  }, true);
  // htmx replaces the main area, the dialog with it: never leave the camera running.
  document.addEventListener("htmx:beforeSwap", stop);
})();
