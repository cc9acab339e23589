// Counter materials and printed cards: the toolbar's Print button opens the print dialog.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
