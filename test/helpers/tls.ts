// A private CA and a server certificate for TLS tests, made with the openssl CLI in a temp dir
// (EC P-256 keys: fast). The certificate names the IP addresses given (subjectAltName), so
// clients that trust the CA (NODE_EXTRA_CA_CERTS) verify it like any other.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

export function makeCerts(dir: string, ips: string[]): TestCerts {
  const run = (...args: string[]) =>
    execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  run(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=berth test CA",
  );
  run("req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=berth reconciler");
  writeFileSync(join(dir, "san.ext"), `subjectAltName=${ips.map((ip) => `IP:${ip}`).join(",")}\n`);
  run(
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    "2",
    "-extfile",
    "san.ext",
  );
  return { ca: join(dir, "ca.pem"), cert: join(dir, "server.pem"), key: join(dir, "server.key") };
}
