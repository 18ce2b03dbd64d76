// Every view of the dashboard, in menu order: the page and the report both draw from this list.
// A view exports `name`, `title`, `params` (the filters it uses), `init()` (once), `load(state)`
// (its answers) and `render(data)`; its `<main id="NAME-view">` is in index.html or made by init.

import * as overview from "./overview.js";
import * as customers from "./customers.js";
import * as map from "./map.js";
import * as products from "./products.js";

export const VIEWS = [overview, products, customers, map];
