// The `yaml` package, loaded on first use. Most loads never need it (no anchors, no syntax errors,
// no diagnostics to position), and importing it up front cost about 30 ms of every CLI run and of
// every parse worker's start. Loading code is not I/O in the sense the pure core avoids: no file,
// network or process is touched on behalf of the caller.
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

let lib: typeof Yaml | undefined;

export function yamlLib(): typeof Yaml {
  lib ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
  return lib;
}
