// Progressive enhancement: drop a file on the upload form. The form works without this script.
document.querySelectorAll("form[data-slipp]").forEach(function (form) {
  var input = form.querySelector("input[type=file]");
  if (!input) return;
  ["dragenter", "dragover"].forEach(function (name) {
    form.addEventListener(name, function (e) { e.preventDefault(); form.classList.add("dra"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    form.addEventListener(name, function () { form.classList.remove("dra"); });
  });
  form.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) { input.files = e.dataTransfer.files; }
  });
});
