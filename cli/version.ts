// The version printed by `berth --version` and reported by agents.
import pkg from "../package.json" with { type: "json" };

export const version: string = pkg.version;
