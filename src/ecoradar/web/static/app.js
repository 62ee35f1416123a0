// Draw every figure a page embeds as <script type="application/json" data-plot="DIV_ID">.
document.querySelectorAll('script[type="application/json"][data-plot]').forEach((el) => {
  const fig = JSON.parse(el.textContent);
  Plotly.newPlot(el.dataset.plot, fig.data, fig.layout, { responsive: true, displaylogo: false });
});
// Confirm destructive status changes.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (ev) => {
    if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
  });
});
