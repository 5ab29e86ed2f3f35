/* Dashboard range form: typing a date means a custom range (the form also works without this script,
   with "Custom" chosen by hand). */
(function () {
  "use strict";
  var preset = document.getElementById("r-range");
  ["r-start", "r-end"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input && preset) input.addEventListener("change", function () { preset.value = "custom"; });
  });
})();
