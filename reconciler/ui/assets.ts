// The page's two static files (assets/style.css, assets/live.js), read once at start, compressed
// once, and served under a URL that carries their content hash so browsers may cache them for a
// year. `npm run build` copies the folder next to the compiled module (scripts/copy-assets.mjs).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Encoding, encode, pickEncoding, securityHeaders } from "./respond.js";

interface Asset {
  type: string;
  hash: string;
  bodies: Map<Encoding, Buffer>;
}

const files: Record<string, string> = {
  "style.css": "text/css; charset=utf-8",
  "live.js": "text/javascript; charset=utf-8",
};

export class Assets {
  private readonly assets = new Map<string, Asset>();

  static async load(): Promise<Assets> {
    const a = new Assets();
    for (const [name, type] of Object.entries(files)) {
      const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
      const bodies = new Map<Encoding, Buffer>([["identity", body]]);
      bodies.set("br", await encode(body, "br"));
      bodies.set("gzip", await encode(body, "gzip"));
      a.assets.set(name, {
        type,
        hash: createHash("sha256").update(body).digest("hex").slice(0, 12),
        bodies,
      });
    }
    return a;
  }

  /** The URL of an asset, with its hash (so a new berth never meets a stale cached copy). */
  url(name: "style.css" | "live.js"): string {
    return `/ui/assets/${name}?v=${this.assets.get(name)?.hash ?? "0"}`;
  }

  /** Serves an asset; false when there is no such asset. */
  serve(req: IncomingMessage, res: ServerResponse, name: string, version: string | null): boolean {
    const a = this.assets.get(name);
    if (!a) return false;
    const enc = pickEncoding(req.headers["accept-encoding"] as string | undefined);
    const body = a.bodies.get(enc) ?? (a.bodies.get("identity") as Buffer);
    res.writeHead(200, {
      ...securityHeaders,
      "Content-Type": a.type,
      "Content-Length": String(body.length),
      ETag: `"${a.hash}"`,
      Vary: "Accept-Encoding",
      "Cache-Control": version === a.hash ? "public, max-age=31536000, immutable" : "no-cache",
      ...(enc === "identity" ? {} : { "Content-Encoding": enc }),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }
}
