// The pages not built yet (and addresses that name no page): say plainly which page this
// is, and lead back to the Farm.

import { el } from "./dom.js";

export function mount(root, ctx) {
  const missing = ctx.routeName === "not-found";
  const title = missing ? "Page not found" : ctx.routeTitle;
  let about = `The ${ctx.routeTitle} page is not built yet.`;
  if (ctx.routeName === "printer") about = `The page of printer ${ctx.params[0]} is not built yet.`;
  if (missing) about = "There is no page of the dashboard at this address.";
  root.append(
    el(
      "section",
      { class: "placeholder", "aria-labelledby": "page-title", "data-testid": "placeholder" },
      el("h1", { id: "page-title", tabindex: "-1" }, title),
      el("p", {}, about),
      el("p", {}, el("a", { href: "/farm" }, "Back to the Farm")),
    ),
  );
  return {};
}
