// Each figure's image links to its 300-dpi file and carries its caption as alt text
// (the caption block the kernel writes right after the image; emonb.book.figures).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".emonb-caption[data-figure]").forEach(function (cap) {
    var out = cap.closest(".output") || cap.parentElement;
    var prev = out && out.previousElementSibling;
    // myst-nb writes the figure as an <img> right before the caption's output (or inside it)
    var img = prev && (prev.tagName === "IMG" ? prev : prev.querySelector("img"));
    if (!img) return;
    img.alt = cap.textContent.replace(/\s+/g, " ").replace(/ 300 dpi$/, "").trim();
    var hires = cap.querySelector("a.emonb-hires");
    if (hires && img.parentElement.tagName !== "A") {
      var a = document.createElement("a");
      a.href = hires.getAttribute("href");
      a.title = "open at 300 dpi";
      img.parentNode.insertBefore(a, img);
      a.appendChild(img);
    }
  });
});
