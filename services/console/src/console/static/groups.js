// The group page's "Copy the link" (CSP script-src 'self': no inline script). Without
// JavaScript the button stays hidden and the link is selected and copied by hand.
for (const button of document.querySelectorAll("button[data-copy]")) {
  const field = document.getElementById(button.dataset.copy);
  const said = document.getElementById(`${button.dataset.copy}-status`);
  if (!field || !navigator.clipboard) continue;
  button.hidden = false;
  button.addEventListener("click", async () => {
    await navigator.clipboard.writeText(field.value);
    if (said) said.textContent = "Link copied";
  });
}
