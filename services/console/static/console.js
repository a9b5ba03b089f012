// The console's only script: caller history while the number is typed, and inserting a
// standard answer into a reply. Plain DOM, no library.
document.addEventListener("DOMContentLoaded", function () {
  var phone = document.getElementById("call-phone");
  if (phone) {
    var timer = null;
    var load = function () {
      fetch(phone.dataset.history + "?phone=" + encodeURIComponent(phone.value), {credentials: "same-origin"})
        .then(function (r) { return r.text(); })
        .then(function (html) { document.getElementById("caller-history").innerHTML = html; });
    };
    phone.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(load, 250); });
    if (phone.value) { load(); }
  }
  document.querySelectorAll("select.answer-pick").forEach(function (pick) {
    pick.addEventListener("change", function () {
      var box = document.getElementById(pick.dataset.target);
      if (pick.value && box) { box.value = (box.value ? box.value + "\n" : "") + pick.value; }
      pick.value = "";
    });
  });
});
