// Esc hides the open day-bar tooltip until the pointer or focus comes to a bar
// again (WCAG 1.4.13). Everything else works without this script.
document.addEventListener("keydown", function (e) {
  if (e.key !== "Escape") return;
  document.querySelectorAll(".bars li:hover, .bars li:focus").forEach(function (li) {
    li.classList.add("x");
  });
});
function show(e) {
  if (e.target.classList) e.target.classList.remove("x");
}
document.addEventListener("mouseover", show);
document.addEventListener("focusin", show);
