// Follows a paginated listing of a forge API: one GET per page until the forge names no next page,
// a page comes back empty, or maxPages is reached. How the next page is named (a Link header, an
// X-Next-Page header) is the caller's; this module only loops and collects the raw items.
import { maxPages } from "./endpoints.js";
import type { ForgeHttp, ForgeRequest, ForgeResponse } from "./http.js";

export type PageQuery = ForgeRequest["query"];

/**
 * Every item of the listing at `path`, in the order the forge returns them. `next` reads a page's
 * response and gives the query of the following page, or undefined when there is none.
 */
export async function followPages<T>(
  http: ForgeHttp,
  path: string,
  first: PageQuery,
  next: (res: ForgeResponse) => PageQuery,
): Promise<T[]> {
  const out: T[] = [];
  let query = first;
  for (let i = 0; i < maxPages; i++) {
    const res = await http.call({ method: "GET", path, query, idempotent: true });
    const items = Array.isArray(res.json) ? (res.json as T[]) : [];
    out.push(...items);
    const following = next(res);
    if (!following || items.length === 0) break;
    query = following;
  }
  return out;
}
